"""The security audit log (安全审计): append-only, each row chained to the one before."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

RESULTS = {"success": "成功", "failure": "失败", "denied": "拒绝"}


class AuditEntry(db.Model):
    """Who did what, from where, with what result. `hash` = SM3(prev_hash | content):
    changing, removing or reordering any row breaks the chain at that row.
    Users and units are copied as text too, so the row still reads after a rename."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_user_at", "user_id", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None]  # no foreign key: the log outlives and never blocks anything
    username: Mapped[str | None] = mapped_column(String(50))
    unit_id: Mapped[int | None] = mapped_column(index=True)
    unit_name: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(50))
    result: Mapped[str] = mapped_column(String(10))  # success / failure / denied
    detail: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
