"""The daily sweep: find what is due soon, overdue, overdue long enough to escalate, or
waiting too long for review, and notify the right people.

Exactly once: each reminder — a (rule, item, period) where the period is the day for the
repeating overdue reminder, the deadline for the bands and escalations, the day of
submission for review — is claimed by INSERT … ON CONFLICT DO NOTHING on the unique key of
sweep_marks. A run notifies only what it claimed itself, so running it twice, in two
processes at once, or by hand beside the scheduler sends nothing twice.

One digest per person and rule: a tribunal head with 40 overdue items gets one
notification listing the most urgent few and "等 40 项", not 40. Set-based: the items are
streamed in two queries, the marks, notifications and deliveries written in multi-row
batches; the number of statements does not grow with the number of items (only by one
per CLAIM_BATCH reminders or WRITE_BATCH digests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, tuple_

from app.checklists.models import Checklist, ChecklistEntry
from app.deadlines import not_closed
from app.extensions import db
from app.notifications import Notification, add_new_only, email_modes
from app.org.models import Unit, User, UserRole
from app.reminders import digest
from app.reminders.digest import ESCALATION_NOTE, Digest, Entry
from app.reminders.models import RULE_KINDS, Delivery, ReminderRule, SweepDigest, SweepMark, SweepRun
from app.reminders.workdays import Calendar
from app.tasks.models import Assignment, Task
from app.timeutil import to_local

__all__ = ["ESCALATION_NOTE", "RECEIVER_ROLES", "SweepResult", "email_targets", "run_sweep"]

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
# A unit with nobody to hear of its own items: its superior's people are told, once.
SUPERIOR_ROLES = ("coordinator", "assigner", "leader", "admin")
OWN_UNIT_KINDS = ("due_soon", "overdue")  # the rules whose audience is the item's own unit
WORKING = ("pending", "in_progress", "returned")  # the unit's turn; a submitted item waits for review
CLAIM_BATCH = 5000  # reminders claimed per round: bounds the memory, whatever the province's size
STREAM = 2000  # rows fetched at a time from the item queries
WRITE_BATCH = 1000  # digests written per round


class Item(NamedTuple):
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
    checklist_id: int | None = None


@dataclass
class SweepResult:
    """Counters: due_soon … review_waiting count the items each rule found (whether or not
    already sent); `sent` the notifications (digests) written, `duplicates_skipped` the
    digests not written because all their items had been sent; `items` the reminders
    (rule × item) sent inside the digests."""

    as_of: date
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*COUNTERS, "sent", "duplicates_skipped", "items"), 0)
    )
    errors: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    run_id: int | None = None

    def summary(self) -> str:
        c = self.counts
        return (
            f"due_soon={c['due_soon']} overdue={c['overdue']} escalated={c['escalated']} "
            f"review_waiting={c['review_waiting']} sent={c['sent']} "
            f"duplicates_skipped={c['duplicates_skipped']} items={c['items']}"
        )


# ---------------------------------------------------------------- the items


def _open_items(horizon: date) -> Iterator[Item]:
    """Open assignments and checklist entries that any rule could concern (deadline up to
    `horizon`, or submitted and waiting), streamed in id order: two queries, a bounded
    number of rows in memory, the same order in every process."""
    rows = db.session.execute(
        select(
            Assignment.id,
            Task.kind,
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
        .order_by(Assignment.id)
        .execution_options(yield_per=STREAM)
    )
    for aid, kind, title, period, unit, by, deadline, verifier, submitted, status in rows:
        yield Item(
            "Assignment",
            aid,
            "rectification" if kind == "rectification" else "assignment",
            title + (f"（{period}）" if period else ""),
            unit,
            by,
            deadline,
            verifier,
            to_local(submitted).date() if submitted else None,  # the local day, not UTC's
            status,
        )
    entries = db.session.execute(
        select(
            ChecklistEntry.id,
            ChecklistEntry.code,
            ChecklistEntry.title,
            Checklist.unit_id,
            Checklist.applied_by_unit_id,
            ChecklistEntry.due,
            Checklist.id,
        )
        .join(Checklist, Checklist.id == ChecklistEntry.checklist_id)
        .where(Checklist.is_current.is_(True), ChecklistEntry.status.in_(("missing", "rejected")))
        .where(ChecklistEntry.due.is_not(None), ChecklistEntry.due <= horizon)
        .order_by(ChecklistEntry.id)
        .execution_options(yield_per=STREAM)
    )
    for eid, code, title, unit, by, due, checklist_id in entries:
        yield Item(
            "ChecklistEntry",
            eid,
            "checklist",
            f"{code} {title}",
            unit,
            by,
            due,
            status="pending",
            checklist_id=checklist_id,
        )


# ---------------------------------------------------------------- recipients


class People:
    """Recipients: the units and every active person's roles, loaded once (two queries)."""

    def __init__(self) -> None:
        units = db.session.execute(select(Unit.id, Unit.parent_id, Unit.name)).all()
        self._parents = {uid: parent for uid, parent, _ in units}
        self._names = {uid: name for uid, _, name in units}
        self._roles: dict[tuple[int, str], list[int]] = defaultdict(list)
        for uid, unit_id, role in db.session.execute(
            select(User.id, User.unit_id, UserRole.role)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.active.is_(True))
            .order_by(User.id)
        ):
            self._roles[(unit_id, role)].append(uid)
        self._in_unit: dict[tuple[int, tuple[str, ...]], tuple[int, ...]] = {}
        self._escalation: dict[tuple, tuple[tuple[int, ...], bool]] = {}
        self._root: dict[int, int] = {}

    def in_unit(self, unit_id: int, roles: tuple[str, ...]) -> tuple[int, ...]:
        key = (unit_id, roles)
        if key not in self._in_unit:
            self._in_unit[key] = tuple(sorted({u for r in roles for u in self._roles.get((unit_id, r), ())}))
        return self._in_unit[key]

    def escalation(self, unit_id: int) -> tuple[tuple[int, ...], bool]:
        """The assigning unit's assigners and leaders — or, where it has none, those of the
        first unit above that has some (and whether it moved up)."""
        return self.nearest(unit_id, ESCALATE_ROLES)

    def nearest(self, unit_id: int | None, roles: tuple[str, ...]) -> tuple[tuple[int, ...], bool]:
        """The people holding `roles` of the unit or, where it has none, of the first unit
        above that has some; and whether it moved up."""
        key = (unit_id, roles)
        if key not in self._escalation:
            current: int | None = unit_id
            found: tuple[int, ...] = ()
            moved = False
            while current is not None:
                found = self.in_unit(current, roles)
                if found:
                    break
                current, moved = self._parents.get(current), True
            self._escalation[key] = (found, moved)
        return self._escalation[key]

    def parent(self, unit_id: int) -> int | None:
        return self._parents.get(unit_id)

    def root(self, unit_id: int) -> int:
        if unit_id not in self._root:
            top = unit_id
            while self._parents.get(top) is not None:
                top = self._parents[top]
            self._root[unit_id] = top
        return self._root[unit_id]

    def name(self, unit_id: int) -> str:
        return self._names.get(unit_id, "")


class Rule(NamedTuple):
    """A ReminderRule as the loop reads it (plain attributes: it is read ~250,000 times)."""

    id: int
    item_type: str
    kind: str
    days: int
    repeat_every: int | None
    working_days: bool
    lower: int  # the next smaller due_soon threshold of its item type (-1: none)


def _rules() -> dict[str, list[Rule]]:
    """The active rules by item type, in id order."""
    rules = list(
        db.session.scalars(
            select(ReminderRule)
            .where(ReminderRule.is_active.is_(True), ReminderRule.item_type != "indicator")
            .order_by(ReminderRule.id)
        )
    )
    out: dict[str, list[Rule]] = defaultdict(list)
    for r in rules:
        bands = [x.days for x in rules if x.kind == "due_soon" and x.item_type == r.item_type]
        lower = max([d for d in bands if d < r.days], default=-1)
        out[r.item_type].append(
            Rule(r.id, r.item_type, r.kind, r.days, r.repeat_every, r.working_days, lower)
        )
    return out


class Audience(NamedTuple):
    """Who one (rule, item) goes to; items with the same audience share a group."""

    key: tuple
    recipients: tuple[int, ...]
    moved: bool = False


def _whose(rule: Rule, item: Item) -> object:
    """What decides the audience of this rule for this item (a unit, or the verifier)."""
    if rule.kind == "escalate":
        return item.assigning_unit_id
    if rule.kind == "review_waiting":
        if item.item_type == "rectification" and item.verifier_id:
            return ("verifier", item.verifier_id)
        return item.assigning_unit_id
    return item.unit_id


def _audience(rule: Rule, item: Item, people: People) -> Audience:
    if rule.kind in ("due_soon", "overdue"):
        return Audience(("unit", item.unit_id), people.in_unit(item.unit_id, RECEIVER_ROLES))
    if rule.kind == "escalate":
        found, moved = people.escalation(item.assigning_unit_id)
        return Audience(("escalate", item.assigning_unit_id), found, moved)
    if rule.kind == "escalate_high":
        root = people.root(item.unit_id)
        return Audience(("high", root), people.in_unit(root, ("reviewer",)))
    if item.item_type == "rectification" and item.verifier_id:
        return Audience(("verifier", item.verifier_id), (item.verifier_id,))
    return Audience(("review", item.assigning_unit_id), people.in_unit(item.assigning_unit_id, REVIEW_ROLES))


# ---------------------------------------------------------------- the rules


class Days:
    """Days between two dates, calendar or working; the working ones memoised (a sweep asks
    about a few hundred distinct deadlines, each walked once)."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self._memo: dict[tuple[date, date], int] = {}

    def between(self, start: date, end: date, working: bool) -> int:
        if not working:
            return (end - start).days
        key = (start, end)
        if key not in self._memo:
            self._memo[key] = self.cal.workdays_between(start, end)
        return self._memo[key]


def _matches(rule: Rule, item: Item, as_of: date, days: Days, left: int | None) -> int | None:
    """The number of days the rule is about (left, overdue, waiting), or None. `left`:
    calendar days to the item's deadline, computed once per item."""
    if rule.kind == "review_waiting":
        if item.status != "submitted" or item.submitted_on is None:
            return None
        waited = days.between(item.submitted_on, as_of, rule.working_days)
        return waited if waited >= rule.days else None
    if left is None or item.status not in WORKING:
        return None
    if rule.working_days:
        left = days.between(as_of, item.deadline, True)
    if rule.kind == "due_soon":
        # One band per threshold (7 / 3 / 1): the smallest matching one fires, once.
        return left if rule.lower < left <= rule.days else None
    overdue = -left
    return overdue if overdue >= rule.days else None


def _period(rule: Rule, item: Item, as_of: date) -> str:
    """Per day for repeated rules; once per deadline (or submission) for the others —
    the same suffix as the per-item dedupe keys had, so the migrated marks line up."""
    if rule.kind == "overdue":
        return as_of.isoformat()
    if rule.kind == "review_waiting":
        return f"s{item.submitted_on}"
    return f"d{item.deadline}"


def _recently_sent(rules: list[Rule], as_of: date) -> dict[int, set[tuple[str, int]]]:
    """{rule id: items} sent by a repeating rule in its last `repeat_every` days: not due
    for another reminder yet. One query."""
    repeat = {r.id: r.repeat_every for r in rules if r.kind == "overdue" and r.repeat_every}
    if not repeat:
        return {}
    since = as_of - timedelta(days=max(repeat.values()) - 1)
    out: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for rule_id, subject_type, subject_id, day in db.session.execute(
        select(SweepMark.rule_id, SweepMark.subject_type, SweepMark.subject_id, SweepMark.day).where(
            SweepMark.rule_id.in_(repeat), SweepMark.day >= since, SweepMark.day < as_of
        )
    ):
        if (as_of - day).days < repeat[rule_id]:
            out[rule_id].add((subject_type, subject_id))
    return out


# ---------------------------------------------------------------- claiming


class Group:
    """The items one rule found for one audience (a unit's people, an assigning unit's
    专班): the digest of those this run claimed."""

    __slots__ = ("audience", "digest")

    def __init__(self, audience: Audience) -> None:
        self.audience = audience
        self.digest = Digest()


def _claim(keys: list[tuple[int, str, int, str]], as_of: date, run_id: int | None) -> list[tuple]:
    """INSERT the marks … ON CONFLICT DO NOTHING RETURNING the ones inserted, written
    out here because SQLAlchemy's per-row parameter handling cost more than the insert
    itself (0.8 s against 0.45 s for 80,000 rows). PostgreSQL gets the keys as four
    arrays (unnest, in the keys' order): six parameters whatever the batch, where one
    multi-row VALUES took six per row and spent most of its time binding them (4.7 s of
    a 7.1 s sweep at province scale). SQLite, which has no arrays, gets the VALUES."""
    conn = db.session.connection()
    tail = (
        " ON CONFLICT (rule_id, subject_type, subject_id, period) DO NOTHING"
        " RETURNING rule_id, subject_type, subject_id, period"
    )
    if conn.dialect.name == "postgresql":
        columns = [list(col) for col in zip(*keys, strict=True)] if keys else [[], [], [], []]
        sql = (
            "INSERT INTO sweep_marks (rule_id, subject_type, subject_id, period, day, run_id)"
            " SELECT k.rule_id, k.subject_type, k.subject_id, k.period, %s::date, %s::integer"
            " FROM unnest(%s::integer[], %s::text[], %s::integer[], %s::text[])"
            " WITH ORDINALITY AS k(rule_id, subject_type, subject_id, period, n)"
            " ORDER BY k.n" + tail
        )
        return [tuple(r) for r in conn.exec_driver_sql(sql, (as_of, run_id, *columns)).fetchall()]
    mark = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    row = f"({mark}, {mark}, {mark}, {mark}, {mark}, {mark})"
    day = as_of.isoformat()  # SQLite keeps a Date as its ISO text
    params: list = []
    for key in keys:
        params += (*key, day, run_id)
    sql = (
        "INSERT INTO sweep_marks (rule_id, subject_type, subject_id, period, day, run_id) VALUES "
        + ", ".join([row] * len(keys))
        + tail
    )
    return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params)).fetchall()]


class Claims:
    """Reminders found, claimed CLAIM_BATCH at a time: one multi-row INSERT … ON CONFLICT
    DO NOTHING RETURNING (what comes back is what this run claimed), or, for a dry run,
    one SELECT of those already sent."""

    def __init__(self, run_id: int | None, as_of: date, dry_run: bool) -> None:
        self.run_id, self.as_of, self.dry_run = run_id, as_of, dry_run
        self.pending: dict[tuple[int, str, int, str], tuple[Group, int, Item, int]] = {}
        self.claimed = 0

    def add(self, rule: Rule, item: Item, days: int, group: Group) -> None:
        key = (rule.id, item.subject_type, item.subject_id, _period(rule, item, self.as_of))
        self.pending[key] = (group, digest.rank(rule.kind, days, item.subject_id), item, days)
        if len(self.pending) >= CLAIM_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        keys = list(self.pending)  # the items' order: concurrent runs claim in the same order
        if self.dry_run:
            cols = (SweepMark.rule_id, SweepMark.subject_type, SweepMark.subject_id, SweepMark.period)
            done = set(db.session.execute(select(*cols).where(tuple_(*cols).in_(keys))).tuples())
            new = [k for k in keys if k not in done]
        else:
            new = _claim(keys, self.as_of, self.run_id)
        for key in new:
            group, rank, item, days = self.pending[key]
            group.digest.add(rank, (item, days), moved=group.audience.moved)
        self.claimed += len(new)
        self.pending.clear()


# ---------------------------------------------------------------- writing


def email_targets(user_ids: set[int]) -> dict[int, str]:
    """{user id: e-mail mode} for people who get e-mail (address set, not off, unit not muted)."""
    return email_modes(user_ids)


def _per_person(groups: dict[tuple[int, tuple], Group]) -> tuple[dict[tuple[int, int], Digest], int]:
    """Each person's digest per rule, merged from the groups they belong to; and how many
    (person, rule) digests found items but had nothing new (the skipped duplicates)."""
    digests: dict[tuple[int, int], Digest] = {}
    found: set[tuple[int, int]] = set()
    for (rule_id, _), group in groups.items():
        for uid in group.audience.recipients:
            found.add((uid, rule_id))
            if group.digest.total:
                digests.setdefault((uid, rule_id), Digest()).merge(group.digest)
    return digests, len(found - set(digests))


def _entries(d: Digest, people: People) -> list[Entry]:
    """The digest's first items as its text and links need them."""
    return [
        Entry(
            item.subject_type,
            item.subject_id,
            item.title,
            days,
            item.deadline,
            people.name(item.unit_id),
            item.checklist_id,
        )
        for item, days in d.first()
    ]


def _write(
    digests: dict[tuple[int, int], Digest],
    rules: dict[int, Rule],
    people: People,
    run_id: int,
    as_of: date,
    now: datetime,
) -> None:
    """The notifications, what the digests of several items list, and the e-mail
    deliveries: three multi-row INSERTs per WRITE_BATCH digests (the memory stays flat)."""
    modes = email_targets({uid for uid, _ in digests})
    table = Notification.__table__
    keys = sorted(digests)
    for start in range(0, len(keys), WRITE_BATCH):
        chunk = keys[start : start + WRITE_BATCH]
        rows, lists = [], {}
        for uid, rule_id in chunk:
            rule, d = rules[rule_id], digests[(uid, rule_id)]
            first = _entries(d, people)
            if d.total > 1:
                lists[(uid, rule_id)] = digest.stored_items(rule.kind, first)
            rows.append(
                {
                    "recipient_id": uid,
                    "kind": rule.kind,
                    "subject_type": first[0].subject_type,  # the most urgent item: where "open" leads
                    "subject_id": first[0].subject_id,
                    "message": digest.message(rule.kind, rule.days, first, d.total, d.moved),
                    "dedupe_key": f"sweep:{run_id}:r{rule_id}",  # the marks are what is unique per item
                    "rule_id": rule_id,
                    "day": as_of,
                    "created_at": now,
                }
            )
        made = db.session.execute(
            table.insert().returning(table.c.id, table.c.recipient_id, table.c.rule_id), rows
        ).tuples()
        ids = {(uid, rule_id): nid for nid, uid, rule_id in made}
        if lists:
            db.session.execute(
                SweepDigest.__table__.insert(),
                [
                    {
                        "notification_id": ids[key],
                        "item_type": rules[key[1]].item_type,
                        "total": digests[key].total,
                        "items": items,
                    }
                    for key, items in lists.items()
                ],
            )
        deliveries = [
            {
                "notification_id": ids[(uid, rule_id)],
                "recipient_id": uid,
                "created_at": now,
                "mode": "immediate"
                if rules[rule_id].kind in IMMEDIATE_KINDS or modes[uid] == "immediate"
                else "digest",
            }
            for uid, rule_id in chunk
            if uid in modes
        ]
        if deliveries:
            db.session.execute(Delivery.__table__.insert(), deliveries)


def _no_one(errors: dict[tuple[str, int], tuple[int, str]], people: People) -> list[str]:
    """One line per rule kind and unit whose items found nobody to notify."""
    lines = []
    for (kind, unit_id), (n, title) in errors.items():
        unit = people.name(unit_id)
        if n == 1:
            lines.append(f"“{title}”（{unit}）找不到可通知的人员。")
        else:
            lines.append(f"{unit}：{n} 项事项（如“{title}”）的{RULE_KINDS[kind]}找不到可通知的人员。")
    return lines


class Unheard:
    """A unit whose own items found nobody of it to remind: how many, and the first."""

    __slots__ = ("first", "items")

    def __init__(self, item: Item) -> None:
        self.first = item
        self.items: set[tuple[str, int]] = set()


def _scan(
    as_of: date,
    by_type: dict[str, list[Rule]],
    people: People,
    claims: Claims,
    counts: dict[str, int],
    cal: Calendar,
    unheard: dict[int, Unheard],
) -> tuple[dict[tuple[int, tuple], Group], list[str]]:
    """Every (rule, item) due today, in its audience's group and handed to `claims`; the
    groups, and an error line per unit whose items found nobody to notify — except the
    units with nobody of their own to remind, which are gathered in `unheard` (their
    superiors are told: `_tell_superiors`)."""
    days = Days(cal)
    rules = [r for mine in by_type.values() for r in mine]
    horizon = as_of + timedelta(days=3 * max([r.days for r in rules if r.kind == "due_soon"] or [7]) + 14)
    recent = _recently_sent(rules, as_of)
    groups: dict[tuple[int, tuple], Group] = {}
    of_whom: dict[tuple[int, object], Group] = {}  # (rule, the item's unit …) → its group
    no_one: dict[tuple[str, int], tuple[int, str]] = {}  # (kind, unit) → how many, the first
    for item in _open_items(horizon):
        left = (item.deadline - as_of).days if item.deadline is not None else None
        for rule in by_type.get(item.item_type, ()):
            n = _matches(rule, item, as_of, days, left)
            if n is None or (item.subject_type, item.subject_id) in recent.get(rule.id, ()):
                continue
            whose = (rule.id, _whose(rule, item))
            group = of_whom.get(whose)
            if group is None:
                audience = _audience(rule, item, people)
                group = groups.get((rule.id, audience.key)) or Group(audience)
                groups[(rule.id, audience.key)] = of_whom[whose] = group
            if not group.audience.recipients:
                if rule.kind in OWN_UNIT_KINDS:
                    unheard.setdefault(item.unit_id, Unheard(item)).items.add(
                        (item.subject_type, item.subject_id)
                    )
                    continue
                found, first = no_one.get((rule.kind, item.unit_id), (0, item.title))
                no_one[(rule.kind, item.unit_id)] = (found + 1, first)
                continue
            counts[COUNTER_OF[rule.kind]] += 1
            claims.add(rule, item, n, group)
    claims.flush()
    return groups, _no_one(no_one, people)


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
    by_type = _rules()
    claims = Claims(result.run_id, as_of, dry_run)
    people = People()
    unheard: dict[int, Unheard] = {}
    groups, result.errors = _scan(as_of, by_type, people, claims, result.counts, cal, unheard)
    digests, skipped = _per_person(groups)
    result.counts.update(sent=len(digests), duplicates_skipped=skipped, items=claims.claimed)
    if not dry_run:
        rules = {r.id: r for mine in by_type.values() for r in mine}
        _write(digests, rules, people, run.id, as_of, now)
        result.errors += _tell_superiors(unheard, people, now)
        from app.indicators.warnings import run_warnings  # its own rule: months outside the interval

        raised = run_warnings(as_of, now).raised
        if raised:  # said in the run log only when there is something to say
            result.counts["indicator_warnings"] = raised
    return _finish(run, result, now, dry_run)


def _tell_superiors(unheard: dict[int, Unheard], people: People, now: datetime) -> list[str]:
    """A unit with nobody to remind of its own items: the people of the unit above it
    (the nearest one with some) are told once — one notification per unit, ever
    (dedupe key "nobody:<unit>"), in the centre and by e-mail as they prefer — not on
    every sweep. The run log says so the once it happens; a unit with nobody above it
    either is logged every time (nobody can be told). One multi-row INSERT."""
    rows, lines = [], []
    told_by_unit: dict[int, str] = {}
    for unit_id, u in sorted(unheard.items()):
        parent = people.parent(unit_id)
        superiors, _ = people.nearest(parent, SUPERIOR_ROLES) if parent is not None else ((), False)
        name = people.name(unit_id)
        if not superiors:
            lines.append(
                f"{name}：{len(u.items)} 项事项（如“{u.first.title}”）找不到可通知的人员，上级单位亦无人可告知。"
            )
            continue
        told_by_unit[unit_id] = name
        message = digest.nobody_message(name, len(u.items), u.first.title)
        rows += [
            {
                "recipient_id": uid,
                "kind": "nobody",
                "subject_type": u.first.subject_type,
                "subject_id": u.first.subject_id,
                "message": message,
                "dedupe_key": f"nobody:{unit_id}",
                "created_by_id": None,
                "created_at": now,
            }
            for uid in superiors
        ]
    told = {key for _, _, key in add_new_only(rows, now=now)}
    for unit_id, name in told_by_unit.items():
        if f"nobody:{unit_id}" in told:
            lines.append(f"{name}没有可接收提醒的在岗人员，已告知上级单位（此后不再重复提示）。")
    return lines


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
