"""Notification preferences and e-mail muting: the writes, each journaled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.notifications import Notification, forget_unread, unread_column
from app.org.models import Unit, User

EMAIL_MODES = {"digest": "每日汇总", "immediate": "立即发送", "off": "不发送邮件"}


def set_email_mode(actor: Any, user: User, mode: str, *, now: datetime) -> bool:
    """Set how this person receives reminder e-mail; False when nothing changed."""
    if mode not in EMAIL_MODES:
        raise ServiceError("请选择有效的邮件提醒方式。")
    if user.email_mode == mode:
        return False
    before = {"email_mode": user.email_mode}
    user.email_mode = mode
    record(actor, "user.email_mode", user, before, {"email_mode": mode}, unit_id=user.unit_id, now=now)
    return True


def toggle_unit_mute(actor: Any, unit: Unit, *, now: datetime) -> bool:
    """Switch reminder e-mail to the unit's people off or back on; returns the new state."""
    before = {"email_muted": bool(unit.email_muted)}
    unit.email_muted = not unit.email_muted
    record(
        actor, "unit.email_mute", unit, before, {"email_muted": unit.email_muted}, unit_id=unit.id, now=now
    )
    return unit.email_muted


def mark_read(notification: Notification, *, now: datetime) -> None:
    """Mark one notification read (keeps the first reading time)."""
    if notification.read_at is None:
        notification.read_at = now
        db.session.flush()
        forget_unread()


def mark_all_read(user: User, *, now: datetime) -> int:
    """Mark all of this person's unread notifications read, in one statement."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    forget_unread()
    return result.rowcount or 0


def unread_count(user_id: int) -> int:
    """How many unread notifications this person has (one indexed count)."""
    return db.session.scalar(select(unread_column(user_id)))
