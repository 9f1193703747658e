"""In-app notifications (the centre itself arrives with the reminders capability).

A notification is unique per (recipient, dedupe_key): the database, not a hope,
stops the same reminder going out twice."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, func, select
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
    email: bool = False,
) -> int:
    """Add one notification per recipient unless (recipient, dedupe_key) exists already.
    With `email`, each new one also goes out by e-mail as its recipient prefers (at once,
    or in the day's digest; not to those who turned e-mail off, have no address or whose
    unit is muted)."""
    if not user_ids:
        return 0
    have = set(
        db.session.scalars(
            select(Notification.recipient_id).where(
                Notification.recipient_id.in_(user_ids), Notification.dedupe_key == dedupe_key
            )
        )
    )
    added = [
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
        for uid in dict.fromkeys(user_ids)
        if uid not in have
    ]
    db.session.add_all(added)
    db.session.flush()
    forget_unread()
    if email and added:
        mail_as_preferred([(n.id, n.recipient_id) for n in added], now=now)
    return len(added)


def add_new_only(rows: list[dict], *, now: datetime, email: bool = True) -> list[tuple[int, int, str]]:
    """Notifications given as rows (the table's columns), in one INSERT … ON CONFLICT DO
    NOTHING: a (recipient, dedupe_key) that exists already is skipped by the unique key
    itself — set-based `notify_users` for many at once. With `email`, the new ones are
    mailed as their recipients prefer. Returns (id, recipient id, dedupe key) of those added."""
    if not rows:
        return []
    t = Notification.__table__
    stmt = insert_new_only(Notification, ("recipient_id", "dedupe_key"))
    made = [
        tuple(r) for r in db.session.execute(stmt.returning(t.c.id, t.c.recipient_id, t.c.dedupe_key), rows)
    ]
    forget_unread()
    if email and made:
        mail_as_preferred([(nid, uid) for nid, uid, _ in made], now=now)
    return made


def mark_first_read(model: type, owner_column: str, owner_id: int, user_id: int, now: datetime) -> Any:
    """Read receipts (催办单, circulars, assessments): stamp the person's receipt for the
    thing the first time they open it. Returns the receipt when it was stamped now; None
    when they have none (not addressed) or had read it already. The caller journals."""
    receipt = db.session.scalar(
        select(model).where(getattr(model, owner_column) == owner_id, model.user_id == user_id)
    )
    if receipt is None or receipt.read_at is not None:
        return None
    receipt.read_at = now
    db.session.flush()
    return receipt


def insert_new_only(model: type, unique: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (unique) DO NOTHING, on SQLite or PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model.__table__).on_conflict_do_nothing(index_elements=list(unique))


def email_modes(user_ids: set[int]) -> dict[int, str]:
    """{user id: e-mail mode} for the people among these who get e-mail (an address,
    e-mail not turned off, their unit not muted). One query."""
    from app.org.models import Unit, User

    if not user_ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.email_mode)
        .join(Unit, Unit.id == User.unit_id)
        .where(
            User.id.in_(user_ids),
            User.email.is_not(None),
            User.email != "",
            User.email_mode != "off",
            Unit.email_muted.is_(False),
        )
    ).all()
    return dict(rows)


def mail_as_preferred(notes: list[tuple[int, int]], *, now: datetime) -> int:
    """Queue e-mail for these new notifications ((notification id, recipient id)) as each
    recipient prefers: "immediate" at once, "digest" in the day's summary (the mail job
    sends them: app/reminders/mail.py). Two statements; returns how many were queued."""
    from app.reminders.models import Delivery

    modes = email_modes({uid for _, uid in notes})
    rows = [
        {
            "notification_id": nid,
            "recipient_id": uid,
            "mode": "immediate" if modes[uid] == "immediate" else "digest",
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for nid, uid in notes
        if uid in modes
    ]
    if rows:
        db.session.execute(Delivery.__table__.insert(), rows)
    return len(rows)


# ---------------------------------------------------------------- the top bar's unread count
#
# Every page's top bar shows how many notifications the user has not read. It is read
# with the user's session row (`app.auth.sessions.find`, one statement instead of two)
# and kept for the request; whatever adds or reads notifications in the request drops it,
# so the top bar counts again, after the change.


def unread_column(user_id: Any) -> Any:
    """A scalar subquery: the unread notifications of `user_id` (a column or value)."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def remember_unread(count: int) -> None:
    if has_request_context():
        g._unread_notifications = count


def forget_unread() -> None:
    if has_request_context():
        g.pop("_unread_notifications", None)
