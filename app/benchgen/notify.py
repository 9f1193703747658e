"""Notifications as the product sends them: the sweep's 临期 / 逾期 / 督办 (with their
rule, day and dedupe key as app/reminders/sweep.py builds them), new assignments,
closings, returns and rectifications. Unique per (recipient, dedupe key)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.benchgen.context import RECEIVER_ROLES, Clock, Province
from app.benchgen.items import Item
from app.benchgen.writer import BulkWriter
from app.extensions import db
from app.reminders.models import ReminderRule

ESCALATE_ROLES = ("assigner", "leader")  # app/reminders/sweep.py
KINDS = [
    "assigned",
    "due_soon",
    "overdue",
    "escalate",
    "escalate_high",
    "closed",
    "returned",
    "rectification",
]
WEIGHTS = [15, 20, 35, 8, 4, 10, 3, 5]
FIRST_DAY = {"overdue": 1, "escalate": 3, "escalate_high": 15}  # the shipped rules' days


def rule_ids() -> dict[tuple[str, str, int], int]:
    rows = db.session.execute(
        select(ReminderRule.id, ReminderRule.item_type, ReminderRule.kind, ReminderRule.days)
    )
    return {(t, k, d): i for i, t, k, d in rows}


class Notifier:
    def __init__(self, w: BulkWriter, p: Province, clock: Clock, rng: random.Random):
        self.w, self.p, self.clock, self.rng = w, p, clock, rng
        self.rules = rule_ids()
        self.seen: set[tuple[int, str]] = set()
        self.marked: set[str] = set()  # the sweep's reminders recorded (sweep_marks)

    def _sweep_day(self, kind: str, it: Item) -> tuple[date, int] | None:
        """The day a sweep rule fired for this item and the days it counted, if it did."""
        rng, today = self.rng, self.clock.today
        if it.deadline is None:
            return None
        end = it.closed.date() if it.closed else today  # a sweep only sees open items
        if kind == "due_soon":
            n = rng.choice([7, 3, 1])
            day = it.deadline - timedelta(days=n)
            return (day, n) if it.created.date() <= day < end else None
        first = FIRST_DAY[kind]
        if it.deadline + timedelta(days=first) >= end:
            return None
        if kind == "overdue":  # repeats every 3 days
            steps = ((end - it.deadline).days - 1 - first) // 3
            n = first + 3 * rng.randint(0, max(0, steps))
        else:
            n = first
        return it.deadline + timedelta(days=n), n

    def _event(self, kind: str, it: Item):
        """(recipients, key, message, subject type, subject id, rule id, day, created at, actor)."""
        p = self.p
        unit = p.units[it.unit].name
        if kind == "assigned":
            if it.parent or it.rect:
                return None
            key = f"assigned:task:{it.task_id}:{it.created.date()}"
            return (
                p.users(it.unit),
                key,
                f"新交办事项：{it.title}",
                "Task",
                it.task_id,
                None,
                None,
                it.created,
                it.creator,
            )
        if kind == "rectification":
            if not it.rect:
                return None
            message = f"督导发现问题，请整改：{it.title.removeprefix('整改：')[:80]}"
            return (
                p.users(it.unit),
                f"rectification:{it.id}",
                message,
                "Assignment",
                it.id,
                None,
                None,
                it.created,
                it.creator,
            )
        if kind in ("closed", "returned"):
            at = it.closed if kind == "closed" else it.returned
            if at is None:
                return None
            message = f"事项已办结：{it.title}" if kind == "closed" else f"事项被退回：{it.title}。"
            key = f"{kind}:{it.id}:{self.rng.randint(3, 9)}"
            return p.users(it.unit), key, message, "Assignment", it.id, None, None, at, it.reviewer
        fired = self._sweep_day(kind, it)
        if fired is None:
            return None
        day, n = fired
        item_type = "rectification" if it.rect else "assignment"
        rule = self.rules.get((item_type, kind, n if kind == "due_soon" else FIRST_DAY[kind]))
        if rule is None:
            return None
        due = it.deadline.isoformat()
        base = f"r{rule}:Assignment:{it.id}"
        if kind == "due_soon":
            to = p.users(it.unit, RECEIVER_ROLES)
            key, message = (
                f"{base}:d{it.deadline}",
                f"【临期】“{it.title}”将于 {due} 到期（还有 {n} 天），请抓紧办理。",
            )
        elif kind == "overdue":
            to = p.users(it.unit, RECEIVER_ROLES)
            key = f"{base}:{day.isoformat()}"
            message = f"【逾期】“{it.title}”已逾期 {n} 天（完成时限 {due}），请尽快办理并反馈。"
        elif kind == "escalate":
            to = next(
                (
                    p.users(u, ESCALATE_ROLES)
                    for u in [it.by_unit, *p.ancestors(it.by_unit)]
                    if p.users(u, ESCALATE_ROLES)
                ),
                [],
            )
            key, message = (
                f"{base}:d{it.deadline}",
                f"【督办】{unit}承办的“{it.title}”已逾期 {n} 天，请督促办理。",
            )
        else:
            to = p.users(p.high, ("reviewer",))
            key = f"{base}:d{it.deadline}"
            message = f"【督办】{unit}承办的“{it.title}”已逾期 {n} 天，超过 15 天仍未办结。"
        at = datetime.combine(day, time(0, 30))  # the sweep's 08:30 Shanghai
        return to, key, message, "Assignment", it.id, rule, day, min(at, self.clock.now), None

    def build(self, items: list[Item], total: int) -> None:
        """Exactly `total` notifications (each event reaches all its recipients)."""
        rng, w, now = self.rng, self.w, self.clock.now
        made, tries = 0, 0
        while made < total:
            tries += 1
            if tries > 200 * total + 10_000:
                raise RuntimeError(f"只生成了 {made}/{total} 条通知")
            kind = rng.choices(KINDS, WEIGHTS)[0]
            event = self._event(kind, rng.choice(items))
            if event is None:
                continue
            to, key, message, subject_type, subject_id, rule, day, at, actor = event
            if rule is not None and key not in self.marked:
                # what the sweep records of each reminder it sent, so that a sweep over
                # the generated data does not send the history again (one per rule, item
                # and period — the part of the key after the item)
                self.marked.add(key)
                w.add(
                    "sweep_marks",
                    {
                        "id": w.new_id("sweep_marks"),
                        "rule_id": rule,
                        "subject_type": subject_type,
                        "subject_id": subject_id,
                        "period": key.rsplit(":", 1)[1],
                        "day": day,
                        "run_id": None,
                    },
                )
            for uid in to:
                if made >= total or (uid, key) in self.seen:
                    continue
                self.seen.add((uid, key))
                read = rng.random() < (0.85 if now - at > timedelta(days=7) else 0.3)
                w.add(
                    "notifications",
                    {
                        "id": w.new_id("notifications"),
                        "recipient_id": uid,
                        "kind": kind,
                        "subject_type": subject_type,
                        "subject_id": subject_id,
                        "message": message,
                        "dedupe_key": key,
                        "created_by_id": actor,
                        "rule_id": rule,
                        "day": day,
                        "created_at": at,
                        "read_at": min(at + timedelta(hours=rng.uniform(0.2, 48)), now) if read else None,
                    },
                )
                made += 1
