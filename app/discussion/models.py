"""A comment on an item or a visit, and a person watching (关注) one.

Both name their subject as (subject_type, subject_id): "Assignment" (an item held by one
unit, a rectification among them) or "Visit". A comment is never deleted: withdrawing
(撤回) it keeps the row with who withdrew it and when; its text before every edit and
before the withdrawal stays in the journal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import User

SUBJECTS = ("Assignment", "Visit")


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_subject", "subject_type", "subject_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class Watch(db.Model):
    """One person watching (关注) one item or visit."""

    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("user_id", "subject_type", "subject_id"),
        Index("ix_watches_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    created_at: Mapped[datetime]
