"""In-app notifications (the centre itself arrives with the reminders capability).

A notification is unique per (recipient, dedupe_key): the database, not a hope,
stops the same reminder going out twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("recipient_id", "dedupe_key"),
        Index("ix_notifications_recipient_read", "recipient_id", "read_at"),
        Index("ix_notifications_rule_subject", "rule_id", "subject_type", "subject_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # remind / returned / assigned / ...
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    message: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_rules.id"))  # sweep notifications
    day: Mapped[date | None] = mapped_column(Date)  # the sweep's as-of day
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


def notify_users(
    user_ids: list[int],
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    message: str,
    dedupe_key: str,
    actor_id: int | None,
    now: datetime,
) -> int:
    """Add one notification per recipient unless (recipient, dedupe_key) exists already."""
    if not user_ids:
        return 0
    have = set(
        db.session.scalars(
            select(Notification.recipient_id).where(
                Notification.recipient_id.in_(user_ids), Notification.dedupe_key == dedupe_key
            )
        )
    )
    added = 0
    for uid in dict.fromkeys(user_ids):
        if uid in have:
            continue
        db.session.add(
            Notification(
                recipient_id=uid,
                kind=kind,
                subject_type=subject_type,
                subject_id=subject_id,
                message=message,
                dedupe_key=dedupe_key,
                created_by_id=actor_id,
                created_at=now,
            )
        )
        added += 1
    db.session.flush()
    return added
