"""Roll-ups for the dashboards: the whole subtree of a unit in a fixed handful of
set-based queries, whatever its size.

For every unit in the subtree, each figure covers that unit and everything below it
(one GROUP BY over the closure table: an item at a tribunal counts for the tribunal,
its base court, its intermediate court and the province). What is counted is what
the completion lists count: items assigned from above (a court's own splits to its
tribunals are not counted again), with the same derived 逾期 and 红黄绿灯."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select

from app import authz
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate
from app.checklists.queries import TOTAL_WEIGHT, VERIFIED_WEIGHT
from app.dashboard import tallies
from app.deadlines import LIGHTS
from app.extensions import db
from app.org.models import Unit, UnitClosure
from app.tasks.models import Assignment, Task
from app.tasks.queries import (
    AssignmentFilters,
    assignments_query,
    light_clauses,
    on_time_clause,
)
from app.visits.models import Visit, VisitTarget

COUNTS = ("total", "closed", "on_time", "red", "yellow", "green", "grey", "rect_total", "rect_open")


@dataclass
class Filters:
    project_id: int | None = None
    category_id: int | None = None
    date_from: date | None = None  # items: deadline in the period; visits: visit day in it
    date_to: date | None = None

    def visit_window(self, today: date) -> tuple[date, date]:
        """Visits are always counted over a period: this year so far unless one is set."""
        return self.date_from or date(today.year, 1, 1), self.date_to or today

    def args(self) -> dict[str, Any]:
        """The same filters as list arguments (/assignments?project=…&from=…)."""
        out: dict[str, Any] = {}
        if self.project_id:
            out["project"] = self.project_id
        if self.category_id:
            out["category"] = self.category_id
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


@dataclass
class Node:
    unit_id: int
    name: str
    level: str
    parent_id: int | None
    depth: int  # below the root
    total: int = 0
    closed: int = 0
    on_time: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0
    grey: int = 0
    rect_total: int = 0
    rect_open: int = 0
    checklists: int = 0
    compliance: float | None = None  # verified weight ÷ total weight of current checklists
    visits: int = 0
    children: list[Node] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        """Open past the deadline — the red light, by definition (counted once)."""
        return self.red

    @property
    def on_time_rate(self) -> float | None:
        """Closed on time ÷ (closed + overdue): what was due, done in time."""
        due = self.closed + self.overdue
        return round(self.on_time / due, 4) if due else None

    @property
    def rect_closure_rate(self) -> float | None:
        return round((self.rect_total - self.rect_open) / self.rect_total, 4) if self.rect_total else None

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def totals(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "closed": self.closed,
            "on_time": self.on_time,
            "overdue": self.overdue,
            "on_time_rate": self.on_time_rate,
            "red": self.red,
            "yellow": self.yellow,
            "green": self.green,
            "grey": self.grey,
            "rectifications": self.rect_total,
            "rectifications_open": self.rect_open,
            "rectification_closure_rate": self.rect_closure_rate,
            "checklists": self.checklists,
            "checklist_compliance": self.compliance,
            "visits": self.visits,
        }


def item_counts(user: Any, root_id: int, f: Filters, today: date) -> dict[int, tuple[int, ...]]:
    """{unit id: COUNTS} of the items held by each unit of the subtree itself (not rolled
    up: `tree` adds each unit's figures to its ancestors). From the tallies when they can
    answer (no project or category, whole months); else one query over the items,
    grouped by the item's unit."""
    if tallies.usable(user, root_id, f.date_from, f.date_to, project=f.project_id, category=f.category_id):
        return tallies.own_counts(root_id, today, f.date_from, f.date_to)
    lights = light_clauses(today)
    rect = Task.kind == "rectification"
    columns = [
        func.count(),
        func.count(case((Assignment.status == "closed", 1))),
        func.count(case((on_time_clause(), 1))),
        *(func.count(case((lights[k], 1))) for k in ("red", "yellow", "green", "grey")),
        func.count(case((rect, 1))),
        func.count(case((and_(rect, Assignment.status != "closed"), 1))),
    ]
    stmt = (
        select(Assignment.unit_id, *columns)
        .select_from(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(Assignment.unit_id.in_(authz.scope_unit_ids_of(root_id)))
        .where(Assignment.parent_id.is_(None))
    )
    stmt = authz.scope(stmt, Assignment, user)
    if f.project_id:
        stmt = stmt.where(Task.project_id == f.project_id)
    if f.category_id:
        stmt = stmt.where(Task.category_id == f.category_id)
    if f.date_from:
        stmt = stmt.where(Assignment.deadline >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Assignment.deadline <= f.date_to)
    return {row[0]: tuple(row[1:]) for row in db.session.execute(stmt.group_by(Assignment.unit_id))}


def roll_up(own: dict[int, tuple[int, ...]], parents: dict[int, int | None], depth: dict[int, int]):
    """Each unit's own figures plus those of every unit below it (within `parents`)."""
    total: dict[int, list[int]] = {uid: list(own.get(uid, ())) for uid in parents}
    for uid in sorted(parents, key=lambda u: -depth[u]):
        parent = parents[uid]
        mine = total[uid]
        if parent in total and mine:
            above = total[parent]
            if not above:
                total[parent] = list(mine)
            else:
                for i, value in enumerate(mine):
                    above[i] += value
    return {uid: tuple(values) for uid, values in total.items() if values}


def own_compliance(user: Any | None, root_id: int) -> dict[int, tuple[int, float, float]]:
    """{unit id: (current checklists, verified weight, total weight)} of the checklists
    each unit of `root_id`'s subtree holds itself (not rolled up: add them up the tree
    with `roll_up`, or per court). One query, grouped by the checklist's own unit —
    joining every entry to its ancestors in the closure table cost four rows per entry.
    `user=None`: the published figures (rankings), not filtered by a user's scope."""
    stmt = (
        select(Checklist.unit_id, func.count(func.distinct(Checklist.id)), VERIFIED_WEIGHT, TOTAL_WEIGHT)
        .select_from(ChecklistEntry)
        .join(Checklist, Checklist.id == ChecklistEntry.checklist_id)
        .where(Checklist.unit_id.in_(authz.scope_unit_ids_of(root_id)), Checklist.is_current.is_(True))
        .group_by(Checklist.unit_id)
    )
    if user is not None:
        stmt = authz.scope(stmt, Checklist, user)
    return {uid: (n, v or 0, t or 0) for uid, n, v, t in db.session.execute(stmt)}


def compliance_of(figures: tuple[int, float, float] | tuple[()]) -> tuple[int, float | None]:
    """(checklists, verified weight ÷ total weight) from rolled-up `own_compliance` sums."""
    if not figures:
        return 0, None
    n, verified, total = figures
    return n, (round(verified / total, 4) if total else None)


def visit_counts(root_id: int, first: date, last: date) -> dict[int, int]:
    """{unit id: done visits to it or to any unit below it in [first, last]}. One query."""
    day = func.coalesce(Visit.actual_start, Visit.planned_start)
    stmt = (
        select(UnitClosure.ancestor_id, func.count(func.distinct(Visit.id)))
        .select_from(VisitTarget)
        .join(Visit, Visit.id == VisitTarget.visit_id)
        .join(UnitClosure, UnitClosure.descendant_id == VisitTarget.unit_id)
        .where(VisitTarget.unit_id.in_(authz.scope_unit_ids_of(root_id)))
        .where(Visit.status == "done", day >= first, day <= last)
        .group_by(UnitClosure.ancestor_id)
    )
    return dict(db.session.execute(stmt).all())


def tree(user: Any, root: Unit, f: Filters, today: date) -> Node:
    """The rolled-up tree under `root` (which the caller has checked the user sees).
    Four queries: the units, the item counts, the checklist compliance, the visits.
    Items of a deactivated unit still count for the units above it."""
    rows = db.session.execute(
        authz.scope(
            select(Unit.id, Unit.name, Unit.level, Unit.parent_id, UnitClosure.depth, Unit.is_active)
            .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
            .where(UnitClosure.ancestor_id == root.id),
            Unit,
            user,
        ).order_by(UnitClosure.depth, Unit.sort_order, Unit.id)
    ).all()
    parents = {r.id: (r.parent_id if r.id != root.id else None) for r in rows}
    depth = {r.id: r.depth for r in rows}
    items = roll_up(item_counts(user, root.id, f, today), parents, depth)
    checks = roll_up(own_compliance(user, root.id), parents, depth)
    visits = visit_counts(root.id, *f.visit_window(today))
    nodes: dict[int, Node] = {}
    for uid, name, level, parent_id, depth, active in rows:
        if not active and uid != root.id:
            continue
        node = Node(uid, name, level, parent_id, depth)
        for key, value in zip(COUNTS, items.get(uid, (0,) * len(COUNTS)), strict=True):
            setattr(node, key, value)
        node.checklists, node.compliance = compliance_of(checks.get(uid, ()))
        node.visits = visits.get(uid, 0)
        nodes[uid] = node
        if uid != root.id and parent_id in nodes:
            nodes[parent_id].children.append(node)
    return nodes[root.id]


# ---------------------------------------------------------------- the assigning side's panels


def review_waiting(user: Any, today: date, limit: int = 8) -> list[Assignment]:
    """Items submitted and waiting for this user's review, oldest first (one query)."""
    stmt = assignments_query(user, AssignmentFilters(status="submitted"), today).where(
        authz.assigning_side_clause(user)
    )
    return list(db.session.scalars(stmt.order_by(None).order_by(Assignment.submitted_at).limit(limit)))


def own_lights(user: Any, unit_id: int, today: date) -> dict[str, int]:
    """红黄绿灯 counts of the items this unit assigned (one query)."""
    lights = light_clauses(today)
    stmt = authz.scope(
        select(*(func.count(case((lights[k], 1))) for k in LIGHTS))
        .select_from(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(Assignment.assigned_by_unit_id == unit_id, Assignment.parent_id.is_(None)),
        Assignment,
        user,
    )
    return dict(zip(LIGHTS, db.session.execute(stmt).one(), strict=True))


@dataclass
class StandardSummary:
    family: str
    name: str
    checklists: int
    compliance: float | None
    waiting: int  # items claimed, waiting to be verified


def checklist_summary(user: Any, root_id: int) -> list[StandardSummary]:
    """Per standard, over the subtree: checklists applied, compliance, claims waiting
    for verification. One query."""
    waiting = func.count(case((ChecklistEntry.status == "claimed", 1)))
    stmt = authz.scope(
        select(
            Checklist.family,
            func.max(ChecklistTemplate.name),
            func.count(func.distinct(Checklist.id)),
            VERIFIED_WEIGHT,
            TOTAL_WEIGHT,
            waiting,
        )
        .select_from(ChecklistEntry)
        .join(Checklist, Checklist.id == ChecklistEntry.checklist_id)
        .join(ChecklistTemplate, ChecklistTemplate.id == Checklist.template_id)
        .where(Checklist.unit_id.in_(authz.scope_unit_ids_of(root_id)), Checklist.is_current.is_(True))
        .group_by(Checklist.family)
        .order_by(Checklist.family),
        Checklist,
        user,
    )
    return [
        StandardSummary(fam, name, n, round(v / t, 4) if t else None, w)
        for fam, name, n, v, t, w in db.session.execute(stmt)
    ]
