"""催办单: a formal, numbered reminder on overdue assignments, sent by their assigning
side to everyone working on them, whose reading is recorded per recipient."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select

from app import authz
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.notifications import Notification, mark_first_read, notify_users
from app.org.models import Unit, User, UserRole
from app.reminders.models import Delivery, UrgeNotice, UrgeNoticeItem, UrgeReceipt
from app.reminders.sweep import RECEIVER_ROLES, email_targets
from app.tasks.models import Assignment
from app.tasks.queries import AssignmentFilters, assignments_query
from app.timeutil import to_local
from app.validation import Forbidden


def is_overdue(a: Assignment, today: date) -> bool:
    return a.status != "closed" and a.deadline is not None and a.deadline < today


def urgeable_assignments(user: Any, today: date, limit: int = 300) -> list[Assignment]:
    """Overdue assignments this user reviews (the assigning side): what they may urge."""
    stmt = assignments_query(user, AssignmentFilters(status="overdue"), today).where(
        authz.assigning_side_clause(user)
    )
    return list(db.session.scalars(stmt.limit(limit)))


def unit_short_name(unit: Unit) -> str:
    aliases = unit.aliases
    return aliases[0] if aliases else unit.name


def _recipients(unit_ids: set[int]) -> list[int]:
    return list(
        db.session.scalars(
            select(User.id)
            .where(User.unit_id.in_(unit_ids), User.active.is_(True))
            .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(RECEIVER_ROLES))))
            .order_by(User.id)
        )
    )


def send_urge(actor: Any, assignments: list[Assignment], message: str, now: datetime) -> UrgeNotice:
    """Issue one numbered 催办单 on overdue assignments: receipts, notifications and
    immediate e-mail for every person working on them. All or nothing."""
    today = to_local(now).date()
    if not assignments:
        raise ServiceError("请至少勾选一项逾期事项。", field="ids")
    for a in assignments:
        if not authz.can(actor, "urge.send", a):
            raise Forbidden("您不是该事项的交办方，不能发出催办单。")
        if not is_overdue(a, today):
            raise ServiceError(f"“{a.task.title}”未逾期，不能发催办单。", field="ids")
    message = (message or "").strip()
    if not message:
        raise ServiceError("请填写催办内容。", field="message")
    unit = db.session.get(Unit, actor.unit_id)
    year = to_local(now).year
    # The unique (unit, year, seq) constraint stops two concurrent senders sharing a number.
    seq = (
        db.session.scalar(
            select(func.max(UrgeNotice.seq)).where(
                UrgeNotice.sender_unit_id == unit.id, UrgeNotice.year == year
            )
        )
        or 0
    ) + 1
    notice = UrgeNotice(
        sender_id=actor.id,
        sender_unit_id=unit.id,
        year=year,
        seq=seq,
        number=f"〔{year}〕{unit_short_name(unit)}催字第{seq}号",
        message=message,
        created_at=now,
    )
    ids = list(dict.fromkeys(a.id for a in assignments))
    notice.items = [UrgeNoticeItem(assignment_id=aid) for aid in ids]
    db.session.add(notice)
    db.session.flush()
    recipients = _recipients({a.unit_id for a in assignments})
    if not recipients:
        raise ServiceError("承办单位没有可接收催办单的人员。")
    db.session.add_all(UrgeReceipt(notice_id=notice.id, user_id=uid) for uid in recipients)
    key = f"urge:{notice.id}"
    notify_users(
        recipients,
        kind="urge",
        subject_type="Assignment",
        subject_id=ids[0],
        message=f"【催办单】{notice.number}：{message}",
        dedupe_key=key,
        actor_id=actor.id,
        now=now,
    )
    mailed = email_targets(set(recipients))
    if mailed:
        rows = db.session.execute(
            select(Notification.id, Notification.recipient_id).where(
                Notification.dedupe_key == key, Notification.recipient_id.in_(mailed)
            )
        ).all()
        db.session.add_all(
            Delivery(notification_id=nid, recipient_id=uid, mode="immediate", created_at=now)
            for nid, uid in rows
        )
    db.session.flush()
    record(
        actor,
        "urge.send",
        notice,
        None,
        {"number": notice.number, "message": message, "assignments": ids, "recipients": len(recipients)},
        unit_id=unit.id,
        now=now,
    )
    return notice


def mark_read(actor: Any, notice: UrgeNotice, now: datetime) -> bool:
    """Record that a recipient opened the 催办单 (first time only)."""
    if mark_first_read(UrgeReceipt, "notice_id", notice.id, actor.id, now) is None:
        return False
    record(actor, "urge.read", notice, None, {"read_at": now}, now=now)
    return True


def visible_notices(user: Any, limit: int = 200) -> list[UrgeNotice]:
    """Sent by the user's unit or below, or sent to the user; newest first."""
    received = select(UrgeReceipt.notice_id).where(UrgeReceipt.user_id == user.id)
    stmt = (
        select(UrgeNotice)
        .where(or_(UrgeNotice.sender_unit_id.in_(authz.scope_unit_ids(user)), UrgeNotice.id.in_(received)))
        .order_by(UrgeNotice.created_at.desc(), UrgeNotice.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def notice_items(notice: UrgeNotice) -> list[Assignment]:
    ids = [i.assignment_id for i in notice.items]
    return list(db.session.scalars(select(Assignment).where(Assignment.id.in_(ids)).order_by(Assignment.id)))


def receipts(notice: UrgeNotice) -> list[UrgeReceipt]:
    return list(
        db.session.scalars(
            select(UrgeReceipt).where(UrgeReceipt.notice_id == notice.id).order_by(UrgeReceipt.id)
        )
    )


def is_sender_side(user: Any, notice: UrgeNotice) -> bool:
    return notice.sender_unit_id in authz.visible_unit_ids(user)
