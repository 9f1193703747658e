"""The journal: every write in the product leaves who, when, what before and after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow


class JournalEntry(db.Model):
    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[int | None]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    """The journaled view of an object: the named fields as JSON-safe values."""
    return {f: _plain(getattr(obj, f)) for f in fields}


def record(
    actor: Any,
    action: str,
    obj: Any,
    before: dict | None,
    after: dict | None,
    *,
    unit_id: int | None = None,
    now: datetime | None = None,
) -> JournalEntry:
    """Add one journal entry for a change to `obj` (flushes so obj has an id)."""
    db.session.flush()
    entry = JournalEntry(
        at=now or utcnow(),
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__,
        object_id=getattr(obj, "id", None),
        unit_id=unit_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    db.session.add(entry)
    for listener in LISTENERS:
        listener(entry, obj)
    return entry


# Who hears of every journaled change, as it is recorded (the watchers of an item:
# app/discussion/watching.py). A listener may only note the change; it writes nothing.
LISTENERS: list[Callable[[JournalEntry, Any], None]] = []


def on_record(listener: Callable[[JournalEntry, Any], None]) -> None:
    """Add a listener to every journal write (once, however many apps are made)."""
    if listener not in LISTENERS:
        LISTENERS.append(listener)


def history(object_type: str, object_id: int) -> list[JournalEntry]:
    """The timeline of one object, oldest first."""
    stmt = (
        select(JournalEntry)
        .where(JournalEntry.object_type == object_type, JournalEntry.object_id == object_id)
        .order_by(JournalEntry.at, JournalEntry.id)
    )
    return list(db.session.scalars(stmt))


def actors_of(entries: list[JournalEntry]) -> dict[int, Any]:
    """The users behind a timeline, in one query."""
    from app.org.models import User

    ids = {e.actor_id for e in entries if e.actor_id}
    if not ids:
        return {}
    from sqlalchemy.orm import lazyload

    # names, not roles: the roles' selectin load was one more statement on every page
    stmt = select(User).where(User.id.in_(ids)).options(lazyload(User.role_rows))
    return {u.id: u for u in db.session.scalars(stmt)}


FIELD_LABELS = {
    "status": "状态",
    "deadline": "完成时限",
    "original_deadline": "原定时限",
    "progress": "进度",
    "progress_override": "填报进度",
    "responsible_user_id": "责任人",
    "comment": "意见",
    "reason": "理由",
    "message": "说明",
    "text": "内容",
    "to": "延至",
    "from": "原时限",
    "title": "名称",
    "requirements": "工作要求",
    "category_id": "类别",
    "lead_leader": "牵头领导",
    "priority": "优先级",
    "deadline_kind": "时限类型",
    "recurrence": "周期",
    "report_every": "报送周期",
    "notes": "备注",
    "name": "名称",
    "parent_id": "上级单位",
    "is_active": "启用",
    "aliases": "别名",
    "level": "层级",
    "tribunal_kind": "法庭类型",
    "feature_label": "特色",
    "percent": "完成百分比",
    "submitted": "提交审核",
    "recipients": "通知人数",
    "done": "完成",
    "display_name": "姓名",
    "unit_id": "单位",
    "roles": "角色",
    "email": "邮箱",
    "phone": "手机",
    "active": "启用",
    "link": "关联",  # links between items (issue 15)
    # 我的查询 (issue 15): a saved view's fields, and the sidebar's 设为默认 switch
    "list_key": "列表",
    "query": "查询条件",
    "shared": "共享给本单位",
    "is_default": "默认",
    "on": "设为默认",
    # comments and 关注 (issue 15, discussion)
    "body": "正文",  # a comment's and a circular's text
    "mentions": "提及",
    "withdrawn_at": "撤回时间",
    "withdrawn_by": "撤回人",
    "user_id": "用户",
    "subject_type": "对象类型",
    "subject_id": "对象编号",
}


def field_label(key: str) -> str:
    return FIELD_LABELS.get(key, key)


def field_value(value: Any, key: str = "") -> str:
    """A journaled value as a person reads it."""
    from app.tasks.models import DEADLINE_KINDS, PRIORITIES, RECURRENCES, STATUSES

    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    lookup = {
        "status": STATUSES,
        "priority": PRIORITIES,
        "deadline_kind": DEADLINE_KINDS,
        "recurrence": RECURRENCES,
        "report_every": RECURRENCES,
    }.get(key)
    if lookup and value in lookup:
        return lookup[value]
    if key in ("progress", "progress_override", "percent"):
        return f"{value}%"
    if isinstance(value, list):
        return "、".join(map(str, value))
    return str(value)
