"""The daily sweep: find what is due soon, overdue, overdue long enough to escalate, or
waiting too long for review, and notify the right people — each (item, rule, recipient,
day) at most once, enforced by a unique key in the database, so running it twice, in
two processes at once, or by hand beside the scheduler sends nothing twice."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.checklists.models import Checklist, ChecklistEntry
from app.deadlines import not_closed
from app.extensions import db
from app.notifications import Notification
from app.org.models import Unit, User, UserRole
from app.reminders.models import Delivery, ReminderRule, SweepRun
from app.reminders.workdays import Calendar
from app.tasks.models import Assignment, Task
from app.timeutil import to_local

RECEIVER_ROLES = ("tribunal_head", "coordinator", "staff", "assigner", "leader")
ESCALATE_ROLES = ("assigner", "leader")
REVIEW_ROLES = ("assigner", "coordinator")
IMMEDIATE_KINDS = ("escalate", "escalate_high")
COUNTERS = ("due_soon", "overdue", "escalated", "review_waiting")
COUNTER_OF = {
    "due_soon": "due_soon",
    "overdue": "overdue",
    "escalate": "escalated",
    "escalate_high": "escalated",
    "review_waiting": "review_waiting",
}
WORKING = ("pending", "in_progress", "returned")  # the unit's turn; a submitted item waits for review
ESCALATION_NOTE = "（交办单位未设工作专班或院领导，已上报上一级单位）"


@dataclass
class Item:
    """Anything with a deadline the sweep chases, reduced to what the rules need."""

    subject_type: str  # Assignment / ChecklistEntry
    subject_id: int
    item_type: str  # assignment / rectification / checklist
    title: str
    unit_id: int
    assigning_unit_id: int
    deadline: date | None
    verifier_id: int | None = None
    submitted_on: date | None = None
    status: str = ""


@dataclass
class SweepResult:
    as_of: date
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*COUNTERS, "sent", "duplicates_skipped"), 0)
    )
    errors: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    run_id: int | None = None

    def summary(self) -> str:
        c = self.counts
        return (
            f"due_soon={c['due_soon']} overdue={c['overdue']} escalated={c['escalated']} "
            f"review_waiting={c['review_waiting']} sent={c['sent']} duplicates_skipped={c['duplicates_skipped']}"
        )


# ---------------------------------------------------------------- the items


def _open_items(as_of: date, horizon: date) -> list[Item]:
    """Open assignments and checklist entries that any rule could concern: deadline up to
    `horizon`, or submitted and waiting. Two set-based queries."""
    kind = Task.kind
    rows = db.session.execute(
        select(
            Assignment.id,
            kind,
            Task.title,
            Assignment.period_label,
            Assignment.unit_id,
            Assignment.assigned_by_unit_id,
            Assignment.deadline,
            Task.verifier_id,
            Assignment.submitted_at,
            Assignment.status,
        )
        .join(Task, Task.id == Assignment.task_id)
        .where(not_closed(Assignment.status))  # the open items only (ix_assignments_open)
        .where((Assignment.deadline <= horizon) | (Assignment.status == "submitted"))
    ).all()
    items = [
        Item(
            "Assignment",
            aid,
            "rectification" if k == "rectification" else "assignment",
            title + (f"（{period}）" if period else ""),
            unit,
            by,
            deadline,
            verifier,
            to_local(submitted).date() if submitted else None,  # the local day, not UTC's
            status,
        )
        for aid, k, title, period, unit, by, deadline, verifier, submitted, status in rows
    ]
    entries = db.session.execute(
        select(
            ChecklistEntry.id,
            ChecklistEntry.code,
            ChecklistEntry.title,
            Checklist.unit_id,
            Checklist.applied_by_unit_id,
            ChecklistEntry.due,
            ChecklistEntry.status,
        )
        .join(Checklist, Checklist.id == ChecklistEntry.checklist_id)
        .where(Checklist.is_current.is_(True), ChecklistEntry.status.in_(("missing", "rejected")))
        .where(ChecklistEntry.due.is_not(None), ChecklistEntry.due <= horizon)
    ).all()
    items += [
        Item("ChecklistEntry", eid, "checklist", f"{code} {title}", unit, by, due, status="pending")
        for eid, code, title, unit, by, due, _status in entries
    ]
    return items


# ---------------------------------------------------------------- recipients


class People:
    """Recipients, loaded per unit once for the whole sweep."""

    def __init__(self) -> None:
        self._by_unit_role: dict[tuple[int, tuple[str, ...]], list[int]] = {}
        self._parents = dict(db.session.execute(select(Unit.id, Unit.parent_id)).all())
        self._names = dict(db.session.execute(select(Unit.id, Unit.name)).all())
        self._high: dict[int, list[int]] = {}

    def in_unit(self, unit_id: int, roles: tuple[str, ...]) -> list[int]:
        key = (unit_id, roles)
        if key not in self._by_unit_role:
            self._by_unit_role[key] = list(
                db.session.scalars(
                    select(User.id)
                    .where(User.unit_id == unit_id, User.active.is_(True))
                    .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
                    .order_by(User.id)
                )
            )
        return self._by_unit_role[key]

    def escalation(self, unit_id: int) -> tuple[list[int], bool]:
        """The assigning unit's assigners and leaders — or, where it has none, the first
        unit above that has some (and say so)."""
        current: int | None = unit_id
        moved = False
        while current is not None:
            people = self.in_unit(current, ESCALATE_ROLES)
            if people:
                return people, moved
            current, moved = self._parents.get(current), True
        return [], moved

    def high_court_reviewers(self, unit_id: int) -> list[int]:
        if unit_id not in self._high:
            root = unit_id
            while self._parents.get(root) is not None:
                root = self._parents[root]
            self._high[unit_id] = self.in_unit(root, ("reviewer",))
        return self._high[unit_id]

    def name(self, unit_id: int) -> str:
        return self._names.get(unit_id, "")


# ---------------------------------------------------------------- the rules


def _days_left(item: Item, as_of: date, rule: ReminderRule, cal: Calendar) -> int:
    if rule.working_days:
        return cal.workdays_between(as_of, item.deadline)
    return (item.deadline - as_of).days


def _matches(rule: ReminderRule, item: Item, as_of: date, cal: Calendar, lower: int) -> int | None:
    """The number of days the rule is about (left, overdue, waiting), or None."""
    if rule.kind == "review_waiting":
        if item.status != "submitted" or item.submitted_on is None:
            return None
        waited = (
            cal.workdays_between(item.submitted_on, as_of)
            if rule.working_days
            else (as_of - item.submitted_on).days
        )
        return waited if waited >= rule.days else None
    if item.status not in WORKING or item.deadline is None:
        return None
    left = _days_left(item, as_of, rule, cal)
    if rule.kind == "due_soon":
        # One band per threshold (7 / 3 / 1): the smallest matching one fires, once.
        return left if lower < left <= rule.days else None
    overdue = -left
    return overdue if overdue >= rule.days else None


def _message(rule: ReminderRule, item: Item, n: int, people: People, note: str = "") -> str:
    unit = people.name(item.unit_id)
    due = item.deadline.isoformat() if item.deadline else ""
    return {
        "due_soon": f"【临期】“{item.title}”将于 {due} 到期（还有 {n} 天），请抓紧办理。",
        "overdue": f"【逾期】“{item.title}”已逾期 {n} 天（完成时限 {due}），请尽快办理并反馈。",
        "escalate": f"【督办】{unit}承办的“{item.title}”已逾期 {n} 天，请督促办理。{note}",
        "escalate_high": f"【督办】{unit}承办的“{item.title}”已逾期 {n} 天，超过 15 天仍未办结。",
        "review_waiting": f"【待审核】{unit}提交的“{item.title}”已等待审核 {n} 天，请及时审核。",
    }[rule.kind]


def _recipients(rule: ReminderRule, item: Item, people: People) -> tuple[list[int], str]:
    if rule.kind in ("due_soon", "overdue"):
        return people.in_unit(item.unit_id, RECEIVER_ROLES), ""
    if rule.kind == "escalate":
        found, moved = people.escalation(item.assigning_unit_id)
        return found, ESCALATION_NOTE if moved else ""
    if rule.kind == "escalate_high":
        return people.high_court_reviewers(item.unit_id), ""
    if item.item_type == "rectification" and item.verifier_id:
        return [item.verifier_id], ""
    return people.in_unit(item.assigning_unit_id, REVIEW_ROLES), ""


def _dedupe_key(rule: ReminderRule, item: Item, as_of: date) -> str:
    """Per day for repeated rules; once per deadline (or submission) for the others."""
    base = f"r{rule.id}:{item.subject_type}:{item.subject_id}"
    if rule.kind == "overdue":
        return f"{base}:{as_of.isoformat()}"
    if rule.kind == "review_waiting":
        return f"{base}:s{item.submitted_on}"
    return f"{base}:d{item.deadline}"


# ---------------------------------------------------------------- writing


def _insert(values: dict) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING on (recipient, key): the id, or None if it existed."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["recipient_id", "dedupe_key"])
        .returning(Notification.id)
    )
    return db.session.execute(stmt).scalar()


def _recent_overdue(rule: ReminderRule, as_of: date) -> set[tuple[int, int, str]]:
    """(recipient, subject id, subject type) notified by this repeating rule in the
    last `repeat_every` days: not due for another reminder yet."""
    if not rule.repeat_every:
        return set()
    since = as_of - timedelta(days=rule.repeat_every - 1)
    rows = db.session.execute(
        select(Notification.recipient_id, Notification.subject_id, Notification.subject_type).where(
            Notification.rule_id == rule.id, Notification.day >= since, Notification.day < as_of
        )
    ).all()
    return {tuple(r) for r in rows}


def email_targets(user_ids: set[int]) -> dict[int, str]:
    """{user id: e-mail mode} for people who get e-mail (address set, not off, unit not muted)."""
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


def run_sweep(as_of: date, now: datetime, *, dry_run: bool = False, trigger: str = "cli") -> SweepResult:
    """Run every active rule as of `as_of`. On a non-working day nothing is sent: the
    next working morning's run picks the same items up (bands and overdue counts are
    measured from the day it runs). Records the run; the caller commits."""
    result = SweepResult(as_of)
    run = SweepRun(job="sweep", as_of=as_of, trigger=trigger, dry_run=dry_run, started_at=now)
    if not dry_run:
        db.session.add(run)
        db.session.flush()
        result.run_id = run.id
    cal = Calendar()
    if not cal.is_workday(as_of):
        result.skipped_reason = "非工作日，不发送；顺延至下一个工作日"
        return _finish(run, result, now, dry_run)
    rules = list(db.session.scalars(select(ReminderRule).where(ReminderRule.is_active.is_(True))))
    people = People()
    horizon = as_of + timedelta(days=3 * max([r.days for r in rules if r.kind == "due_soon"] or [7]) + 14)
    items = _open_items(as_of, horizon)
    thresholds: dict[str, list[int]] = defaultdict(list)
    for r in rules:
        if r.kind == "due_soon":
            thresholds[r.item_type].append(r.days)
    new_ids: list[tuple[int, int, str]] = []
    for rule in rules:
        lower = max([d for d in thresholds[rule.item_type] if d < rule.days], default=-1)
        recent = _recent_overdue(rule, as_of) if rule.kind == "overdue" else set()
        for item in items:
            if item.item_type != rule.item_type:
                continue
            n = _matches(rule, item, as_of, cal, lower)
            if n is None:
                continue
            recipients, note = _recipients(rule, item, people)
            if not recipients:
                result.errors.append(f"“{item.title}”（{people.name(item.unit_id)}）找不到可通知的人员。")
                continue
            recipients = [u for u in recipients if (u, item.subject_id, item.subject_type) not in recent]
            if not recipients:
                continue
            result.counts[COUNTER_OF[rule.kind]] += 1
            key = _dedupe_key(rule, item, as_of)
            message = _message(rule, item, n, people, note)
            for uid in recipients:
                if dry_run:
                    exists = db.session.scalar(
                        select(Notification.id).where(
                            Notification.recipient_id == uid, Notification.dedupe_key == key
                        )
                    )
                    result.counts["duplicates_skipped" if exists else "sent"] += 1
                    continue
                nid = _insert(
                    dict(
                        recipient_id=uid,
                        kind=rule.kind,
                        subject_type=item.subject_type,
                        subject_id=item.subject_id,
                        message=message,
                        dedupe_key=key,
                        rule_id=rule.id,
                        day=as_of,
                        created_at=now,
                    )
                )
                if nid is None:
                    result.counts["duplicates_skipped"] += 1
                else:
                    result.counts["sent"] += 1
                    new_ids.append((nid, uid, rule.kind))
    if new_ids and not dry_run:
        modes = email_targets({uid for _, uid, _ in new_ids})
        for nid, uid, kind in new_ids:
            if uid in modes:
                db.session.add(
                    Delivery(
                        notification_id=nid,
                        recipient_id=uid,
                        created_at=now,
                        mode="immediate"
                        if kind in IMMEDIATE_KINDS or modes[uid] == "immediate"
                        else "digest",
                    )
                )
    return _finish(run, result, now, dry_run)


def _finish(run: SweepRun, result: SweepResult, now: datetime, dry_run: bool) -> SweepResult:
    if not dry_run:
        run.finished_at = now
        run.counts = {
            **result.counts,
            **({"skipped": result.skipped_reason} if result.skipped_reason else {}),
        }
        run.errors = result.errors
        db.session.flush()
    return result
