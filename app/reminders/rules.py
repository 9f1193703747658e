"""Writes on the reminder rules and the working-day calendar's overrides (admins only;
the views check the policy). Each service flushes and journals; the caller commits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.errors import ServiceError, check_version
from app.extensions import db
from app.journal import record, snapshot
from app.reminders.models import ITEM_TYPES, RULE_KINDS, CalendarOverride, ReminderRule
from app.reminders.workdays import Calendar

RULE_FIELDS = ("days", "repeat_every", "working_days", "is_active")
OVERRIDE_FIELDS = ("day", "is_workday", "note")
MAX_DAYS = 365
KIND_ORDER = list(RULE_KINDS)


class DuplicateOverride(ServiceError):
    status = 409


def rules_by_item_type() -> list[tuple[str, list[ReminderRule]]]:
    """Every rule, grouped by item type (in ITEM_TYPES order), then by kind and days."""
    rules = list(db.session.scalars(select(ReminderRule)))
    groups = []
    for item_type, label in ITEM_TYPES.items():
        mine = [r for r in rules if r.item_type == item_type]
        mine.sort(key=lambda r: (KIND_ORDER.index(r.kind) if r.kind in KIND_ORDER else 99, -r.days, r.id))
        if mine:
            groups.append((label, mine))
    return groups


def _check_escalation_order(rule: ReminderRule, days: int) -> None:
    """escalate_high must come strictly after escalate, for the same item type."""
    other_kind = {"escalate": "escalate_high", "escalate_high": "escalate"}.get(rule.kind)
    if other_kind is None:
        return
    others = list(
        db.session.scalars(
            select(ReminderRule.days).where(
                ReminderRule.item_type == rule.item_type,
                ReminderRule.kind == other_kind,
                ReminderRule.id != rule.id,
            )
        )
    )
    if rule.kind == "escalate" and any(days >= d for d in others):
        raise ServiceError("上报交办单位的天数必须小于上报高院的天数。", field="days")
    if rule.kind == "escalate_high" and any(days <= d for d in others):
        raise ServiceError("上报高院的天数必须大于上报交办单位的天数。", field="days")


def update_rule(
    actor: Any,
    rule: ReminderRule,
    *,
    days: int,
    repeat_every: int | None,
    working_days: bool,
    is_active: bool,
    version: int | str | None,
    now: datetime,
) -> ReminderRule:
    """Change one rule's timing after checking it still makes sense (and is not stale)."""
    check_version(rule, version)
    if days is None:
        raise ServiceError("请填写天数。", field="days")
    if days < 0:
        raise ServiceError("天数不能为负数。", field="days")
    if days > MAX_DAYS:
        raise ServiceError(f"天数不能超过 {MAX_DAYS}。", field="days")
    if repeat_every is not None and not 1 <= repeat_every <= MAX_DAYS:
        raise ServiceError(f"重复间隔须为 1 至 {MAX_DAYS} 天，或留空表示不重复。", field="repeat_every")
    if rule.kind == "out_of_range" and not 1 <= days <= 24:
        raise ServiceError("质效预警的连续月数须在 1–24 之间。", field="days")
    if rule.kind == "out_of_range" and repeat_every is not None:
        raise ServiceError("质效预警每次偏离只告知一次，不设重复间隔。", field="repeat_every")
    if rule.kind in ("escalate", "escalate_high") and days < 1:
        raise ServiceError("督办必须在逾期之后（至少逾期 1 天）。", field="days")
    _check_escalation_order(rule, days)
    before = snapshot(rule, RULE_FIELDS)
    rule.days = days
    rule.repeat_every = repeat_every
    rule.working_days = bool(working_days)
    rule.is_active = bool(is_active)
    db.session.flush()
    record(actor, "reminder_rule.update", rule, before, snapshot(rule, RULE_FIELDS), now=now)
    return rule


def overrides() -> list[CalendarOverride]:
    return list(db.session.scalars(select(CalendarOverride).order_by(CalendarOverride.day.desc())))


def upcoming_days(today: date, n: int = 30) -> list[tuple[date, bool, bool]]:
    """The next `n` days from `today`: (day, is a working day, set by an override)."""
    cal = Calendar()
    days = [today + timedelta(days=i) for i in range(n)]
    return [(d, cal.is_workday(d), d in cal.overrides) for d in days]


def add_override(
    actor: Any, *, day: date | None, is_workday: bool, note: str | None, now: datetime
) -> CalendarOverride:
    """Mark one day as a working day or a day off, whatever the statutory calendar says."""
    if day is None:
        raise ServiceError("请填写有效的日期。", field="day")
    if db.session.scalar(select(CalendarOverride.id).where(CalendarOverride.day == day)):
        raise DuplicateOverride(f"{day.isoformat()} 已有调整记录，请先删除原记录再添加。", field="day")
    note = (note or "").strip()[:100] or None
    override = CalendarOverride(day=day, is_workday=bool(is_workday), note=note)
    db.session.add(override)
    db.session.flush()
    record(actor, "calendar_override.add", override, None, snapshot(override, OVERRIDE_FIELDS), now=now)
    return override


def delete_override(actor: Any, override: CalendarOverride, *, now: datetime) -> None:
    """Remove an override: the day falls back to the statutory calendar."""
    before = snapshot(override, OVERRIDE_FIELDS)
    record(actor, "calendar_override.delete", override, before, None, now=now)
    db.session.delete(override)
    db.session.flush()
