"""Reads on items and assignments: scoped by the policy, set-based, paginated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import contains_eager

from app import authz
from app.checklists.models import Checklist, ChecklistEntry
from app.deadlines import (
    DUE_SOON_DAYS,
    LIGHTS,
    due_soon_clause,
    due_state,
    not_closed,
    overdue_clause,
    traffic_light,
)
from app.deadlines import light_clauses as deadline_lights
from app.extensions import db
from app.org.models import Unit, UnitClosure
from app.sqlutil import contains, local_date, prebuilt
from app.tasks.models import (
    OPEN_STATUSES,
    STATUSES,
    Assignment,
    CompletionReview,
    ExtensionRequest,
    Project,
    Task,
)
from app.timeutil import to_local

SORTS = {
    # Items without a deadline last, written so that an index can give the order
    # (ix_assignments_list; SQLite's indexes put NULL first and know no NULLS LAST).
    "deadline": (Assignment.deadline.is_(None), Assignment.deadline, Assignment.id),
    "-deadline": (Assignment.deadline.desc().nulls_last(), Assignment.id),
    "updated": (Assignment.updated_at.desc(), Assignment.id),
    "progress": (Assignment.progress.asc(), Assignment.id),
    "unit": (Unit.name, Assignment.id),
    "title": (Task.title, Assignment.id),
}


@dataclass
class AssignmentFilters:
    project_id: int | None = None
    unit_id: int | None = None  # a subtree root
    status: str = ""  # a status, or open / overdue / due_soon
    deadline_from: date | None = None
    deadline_to: date | None = None
    category_id: int | None = None
    responsible_id: int | None = None
    q: str = ""
    sort: str = "deadline"
    ids: list[int] = field(default_factory=list)
    light: str = ""  # red / yellow / green / grey (derived, see app.deadlines)
    kind: str = ""  # task / rectification
    top_only: bool = False  # only items assigned from above (not a court's own splits)
    assigned_by_id: int | None = None  # items this unit assigned


def status_clause(status: str, today: date):
    """SQL for a status filter, including the derived ones (overdue, due soon).

    The open ones are said twice, `status != 'closed'` and `status IN (the open
    statuses)`: the first lets a page in deadline order read the partial index on open
    items (ix_assignments_open) and stop at its 50th row; the second lets the page's
    count read a subtree's open items unit by unit from ix_assignments_unit_status_deadline
    (SQLite, 1,051 overdue items of an intermediate court's subtree: 1.65 → 0.13 ms)
    instead of every open item of the province in deadline order."""
    if status == "open":
        return and_(not_closed(Assignment.status), _open_status())
    if status == "overdue":
        return and_(overdue_clause(Assignment.deadline, Assignment.status, today), _open_status())
    if status == "due_soon":
        return and_(due_soon_clause(Assignment.deadline, Assignment.status, today), _open_status())
    if status == "on_time":
        return on_time_clause()
    if status == "due":  # what the on-time rate is measured on: closed, or open past the deadline
        return or_(
            Assignment.status == "closed", overdue_clause(Assignment.deadline, Assignment.status, today)
        )
    if status in STATUSES:
        return Assignment.status == status
    return None


def _open_status():
    return Assignment.status.in_(OPEN_STATUSES)


def on_time_clause():
    """SQL: closed on or before the deadline (or closed with no deadline)."""
    return and_(
        Assignment.status == "closed",
        or_(Assignment.deadline.is_(None), Assignment.closed_on <= Assignment.deadline),
    )


def light_clauses(today: date, *, open_with_deadline: bool = False) -> dict[str, Any]:
    """红黄绿灯 of assignments in SQL (the twin of `traffic_light_of`); see
    app.deadlines.light_clauses for `open_with_deadline`."""
    return deadline_lights(
        Assignment.deadline,
        Assignment.status,
        Assignment.progress,
        local_date(Assignment.created_at),
        today,
        open_with_deadline=open_with_deadline,
    )


def assignments_query(user: Any, f: AssignmentFilters, today: date) -> Select:
    """The assignment list for this user: one query, scoped and filtered in SQL, each
    row with its item, project and unit loaded."""
    stmt = _with_item(select(Assignment))
    return _filtered(stmt, user, f, today).order_by(*SORTS.get(f.sort, SORTS["deadline"]))


@prebuilt
def assignments_by_id() -> Select:
    """Assignments by the expanding parameter `ids`, each with its item, project and
    unit loaded (joined): the rows of a page whose ids a scoped, filtered query chose."""
    return (
        _join_item(select(Assignment))
        .options(
            contains_eager(Assignment.task).load_only(*ROW_TASK, raiseload=True),
            contains_eager(Assignment.task)
            .contains_eager(Task.project)
            .load_only(*ROW_PROJECT, raiseload=True),
            contains_eager(Assignment.unit).load_only(*ROW_UNIT, raiseload=True),
        )
        .where(Assignment.id.in_(bindparam("ids", expanding=True)))
    )


# What a row of a list shows of an assignment's item, project and unit (app/tasks/rows_html.py,
# app/api/assignment_out.py): loaded alone, the rest raises rather than loading row by row.
ROW_TASK = (Task.id, Task.kind, Task.title, Task.project_id)
ROW_PROJECT = (Project.id, Project.name)
ROW_UNIT = (Unit.id, Unit.name)


def _with_item(stmt: Select) -> Select:
    """A query of assignments with each one's item, project and unit loaded (joined)."""
    return _join_item(stmt).options(
        contains_eager(Assignment.task).contains_eager(Task.project), contains_eager(Assignment.unit)
    )


def _join_item(stmt: Select) -> Select:
    return (
        stmt.join(Task, Task.id == Assignment.task_id)
        .outerjoin(Project, Project.id == Task.project_id)
        .join(Unit, Unit.id == Assignment.unit_id)
    )


def assignment_ids_query(user: Any, f: AssignmentFilters, today: date) -> Select:
    """The same list as ids only, joined to items and units only where a filter or the
    sort needs them: with the default sort the scan and the count read one covering
    index (ix_assignments_list) instead of sorting whole joined rows."""
    sort = SORTS.get(f.sort, SORTS["deadline"])
    stmt = select(Assignment.id)
    if f.project_id or f.category_id or f.kind or f.q.strip() or f.sort == "title":
        stmt = stmt.join(Task, Task.id == Assignment.task_id)
    if f.q.strip() or f.sort == "unit":
        stmt = stmt.join(Unit, Unit.id == Assignment.unit_id)
    return _filtered(stmt, user, f, today).order_by(*sort)


def _filtered(stmt: Select, user: Any, f: AssignmentFilters, today: date) -> Select:
    stmt = authz.scope(stmt, Assignment, user)
    if f.project_id:
        stmt = stmt.where(Task.project_id == f.project_id)
    # The user's own unit or one above it narrows nothing (items go down the tree, so all
    # the user sees lies below it) — and as a filter it made SQLite count every item of
    # the province for a tribunal head who asked for "辽宁高院": 0.86 s instead of 20 ms.
    if f.unit_id and f.unit_id not in authz.ancestor_ids(user):
        stmt = stmt.where(
            Assignment.unit_id.in_(
                select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == f.unit_id)
            )
        )
    clause = status_clause(f.status, today)
    if clause is not None:
        stmt = stmt.where(clause)
    if f.deadline_from:
        stmt = stmt.where(Assignment.deadline >= f.deadline_from)
    if f.deadline_to:
        stmt = stmt.where(Assignment.deadline <= f.deadline_to)
    if f.category_id:
        stmt = stmt.where(Task.category_id == f.category_id)
    if f.responsible_id:
        stmt = stmt.where(Assignment.responsible_user_id == f.responsible_id)
    if f.q.strip():
        stmt = stmt.where(
            or_(contains(Task.title, f.q), contains(Task.requirements, f.q), contains(Unit.name, f.q))
        )
    if f.ids:
        stmt = stmt.where(Assignment.id.in_(f.ids))
    if f.light in LIGHTS:
        stmt = stmt.where(light_clauses(today)[f.light])
    if f.kind in ("task", "rectification"):
        stmt = stmt.where(Task.kind == f.kind)
    if f.top_only:
        stmt = stmt.where(Assignment.parent_id.is_(None))
    if f.assigned_by_id:
        stmt = stmt.where(Assignment.assigned_by_unit_id == f.assigned_by_id)
    return stmt


def light(a: Assignment, today: date) -> str:
    return due_state(a.deadline, a.status == "closed", today)


# ---------------------------------------------------------------- my work (/my and /today)

WORKING = ("pending", "in_progress", "returned")  # the receiving unit still has to act
GAP_LIMIT = 10  # checklist gaps listed (the count is of all of them)


@dataclass(frozen=True)
class Section:
    """One section of 我的工作 / 今日工作: its rows (the first `limit`) and how many there are."""

    key: str  # the attribute of MyWork
    slug: str  # data-testid (今日工作 prefixes "today-")
    title: str
    empty: str
    kind: str  # assignment / extension / entry
    rows: list
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.rows)


# (key, slug, title, text when empty, kind, whose): the sections in the order both pages show them.
SECTIONS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("overdue", "overdue", "逾期", "没有逾期事项。", "assignment", "receiver"),
    ("due_soon", "due-soon", "临期（7天内到期）", "没有临期事项。", "assignment", "receiver"),
    ("to_acknowledge", "to-ack", "待签收", "没有待签收事项。", "assignment", "receiver"),
    ("returned", "returned", "被退回", "没有被退回的事项。", "assignment", "receiver"),
    ("rectifications", "rectifications", "整改事项", "没有正在整改的事项。", "assignment", "receiver"),
    ("to_review", "to-review", "待我审核", "没有等待您审核的事项。", "assignment", "reviewer"),
    (
        "extension_requests",
        "extensions",
        "待审批的延期申请",
        "没有待审批的延期申请。",
        "extension",
        "reviewer",
    ),
    ("gaps", "gaps", "检查清单待补", "检查清单没有缺项。", "entry", "receiver"),
    ("in_progress", "in-progress", "正在承办", "没有其他正在承办的事项。", "assignment", "receiver"),
)


@dataclass
class MyWork:
    """Everything this user must act on, by section: what their unit must do (each open
    item in exactly one section, the most urgent first) and what waits for their review.
    今日工作 and 我的工作 are both drawn from it, so they cannot differ."""

    overdue: list[Assignment] = field(default_factory=list)
    due_soon: list[Assignment] = field(default_factory=list)
    to_acknowledge: list[Assignment] = field(default_factory=list)
    returned: list[Assignment] = field(default_factory=list)
    rectifications: list[Assignment] = field(default_factory=list)
    in_progress: list[Assignment] = field(default_factory=list)
    to_review: list[Assignment] = field(default_factory=list)
    extension_requests: list[ExtensionRequest] = field(default_factory=list)
    gaps: list[ChecklistEntry] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # every section's full count
    shown: tuple[str, ...] = ()  # the sections that concern this user, in SECTIONS order

    @property
    def sections(self) -> list[Section]:
        return [
            Section(key, slug, title, empty, kind, getattr(self, key), self.totals.get(key, 0))
            for key, slug, title, empty, kind, _ in SECTIONS
            if key in self.shown
        ]

    @property
    def count(self) -> int:
        """How many things in all wait for this user (every row of every section shown)."""
        return sum(self.totals.get(key, 0) for key in self.shown)


def my_work(user: Any, today: date, limit: int = 50) -> MyWork:
    """What this user must do now, in at most four SQL statements whatever the numbers:
    the open items of their unit by section (one query, each section's first `limit`
    and its count), the items and the extension requests they review, and their unit's
    checklist gaps (the first GAP_LIMIT)."""
    work = MyWork()
    receiver = user.has_role(*authz.RECEIVER_ROLES)
    if receiver:
        for a, key, total in db.session.execute(_receiver_sections(user, today, limit)):
            getattr(work, key).append(a)
            work.totals[key] = total
        work.gaps, work.totals["gaps"] = _counted(_gaps(user))
    review_q = assignments_query(user, AssignmentFilters(status="submitted"), today).where(
        authz.assigning_side_clause(user)
    )
    work.to_review, work.totals["to_review"] = _counted(review_q.limit(limit))
    ext_q = (
        select(ExtensionRequest)
        .join(Assignment, Assignment.id == ExtensionRequest.assignment_id)
        .join(Task, Task.id == Assignment.task_id)
        .where(ExtensionRequest.status == "pending", Assignment.status != "closed")
        .where(authz.assigning_side_clause(user))
        .order_by(ExtensionRequest.created_at, ExtensionRequest.id)
        .limit(limit)
    )
    work.extension_requests, work.totals["extension_requests"] = _counted(ext_q)
    reviews = user.has_role(*authz.REVIEWER_ROLES, "reviewer", "leader")
    work.shown = tuple(
        key
        for key, *_, whose in SECTIONS
        if (receiver if whose == "receiver" else reviews) or work.totals.get(key)
    )
    return work


def _counted(stmt: Select) -> tuple[list, int]:
    """The rows of a one-entity query with LIMIT, and how many there are without it
    (COUNT(*) OVER (), in the same statement)."""
    rows = db.session.execute(stmt.add_columns(func.count().over())).all()
    return [r[0] for r in rows], (rows[0][1] if rows else 0)


def _receiver_sections(user: Any, today: date, limit: int) -> Select:
    """(assignment, section, the section's count) of the open items of the user's unit,
    each in exactly one section — overdue, due soon, to acknowledge, returned, 整改, in
    progress — the first `limit` of each in the list's order. One statement."""
    section = case(
        (overdue_clause(Assignment.deadline, Assignment.status, today), "overdue"),
        (due_soon_clause(Assignment.deadline, Assignment.status, today), "due_soon"),
        (Assignment.status == "pending", "to_acknowledge"),
        (Assignment.status == "returned", "returned"),
        (Task.kind == "rectification", "rectifications"),
        else_="in_progress",
    )
    ranked = (
        authz.scope(
            select(
                Assignment.id.label("id"),
                section.label("section"),
                func.row_number().over(partition_by=section, order_by=SORTS["deadline"]).label("n"),
                func.count().over(partition_by=section).label("total"),
            ).join(Task, Task.id == Assignment.task_id),
            Assignment,
            user,
        )
        .where(authz.receiver_clause(user), Assignment.status.in_(WORKING))
        .subquery()
    )
    return (
        _with_item(select(Assignment, ranked.c.section, ranked.c.total))
        .join(ranked, ranked.c.id == Assignment.id)
        .where(ranked.c.n <= limit)
        .order_by(ranked.c.section, ranked.c.n)
    )


def _gaps(user: Any) -> Select:
    """The checklist items the user's unit has still to tick (missing) or to redo
    (rejected), the nearest due first."""
    return authz.scope(
        select(ChecklistEntry)
        .join(Checklist, Checklist.id == ChecklistEntry.checklist_id)
        .where(Checklist.unit_id == user.unit_id, Checklist.is_current.is_(True))
        .where(ChecklistEntry.status.in_(("missing", "rejected")))
        .order_by(ChecklistEntry.due.asc().nulls_last(), ChecklistEntry.sort_order, ChecklistEntry.id)
        .limit(GAP_LIMIT),
        Checklist,
        user,
    )


# ---------------------------------------------------------------- completion list


@dataclass
class CompletionRow:
    unit: Unit
    total: int
    closed: int
    closed_on_time: int
    open: int
    overdue: int
    due: int  # closed, or open past the deadline: what the on-time rate is measured on
    review: CompletionReview | None = None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.closed_on_time / self.due, 4) if self.due else None


def completion_rows(
    user: Any,
    root: Unit,
    today: date,
    *,
    project_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[CompletionRow]:
    """Per unit directly below `root` (each rolled up over its subtree), plus `root`'s
    own items: counts of closed / open / overdue and the on-time rate. One grouped query.
    Counted: items assigned from above (a court's own splits to its tribunals are not
    counted again); on-time rate = closed on time / (closed + overdue)."""
    children = list(
        db.session.scalars(
            authz.scope(select(Unit), Unit, user)
            .where(Unit.parent_id == root.id)
            .order_by(Unit.sort_order, Unit.id)
        )
    )
    groups = [root.id] + [c.id for c in children]
    # Each assignment counts towards the child whose subtree holds it; root's own items
    # count for root alone. Counted per item's unit, then added up per child in Python:
    # joining every item to its ancestors in the closure table cost four rows per item.
    holder_of = {root.id: root.id}
    for child_id, unit_id in db.session.execute(
        select(UnitClosure.ancestor_id, UnitClosure.descendant_id).where(
            UnitClosure.ancestor_id.in_(groups[1:])
        )
    ):
        holder_of[unit_id] = child_id
    counts: dict[int, list[int]] = {}
    for unit_id, *figures in _completion_counts(user, root, today, project_id, date_from, date_to):
        holder = holder_of.get(unit_id)
        if holder is None:
            continue
        sums = counts.setdefault(holder, [0, 0, 0, 0])
        for i, value in enumerate(figures):
            sums[i] += value
    reviews = latest_reviews(groups, project_id, date_from, date_to)
    out = []
    for unit in [root, *children]:
        total, n_closed, n_on_time, n_overdue = counts.get(unit.id, (0, 0, 0, 0))
        if unit.id == root.id and not total:
            continue
        out.append(
            CompletionRow(
                unit=unit,
                total=total,
                closed=n_closed,
                closed_on_time=n_on_time,
                open=total - n_closed,
                overdue=n_overdue,
                due=n_closed + n_overdue,
                review=reviews.get(unit.id),
            )
        )
    return out


def _completion_counts(
    user: Any, root: Unit, today: date, project_id: int | None, date_from: date | None, date_to: date | None
) -> list[tuple[int, int, int, int, int]]:
    """(unit id, total, closed, on time, overdue) of the items each unit below `root`
    holds itself: from the tallies when they can answer, else one query over the items."""
    from app.dashboard import tallies  # the dashboard builds on the task queries, not the reverse

    if tallies.usable(user, root.id, date_from, date_to, project=project_id):
        return [
            (uid, c[0], c[1], c[2], c[3])
            for uid, c in tallies.own_counts(root.id, today, date_from, date_to).items()
        ]
    closed = Assignment.status == "closed"
    on_time = on_time_clause()
    overdue = overdue_clause(Assignment.deadline, Assignment.status, today)
    stmt = (
        select(
            Assignment.unit_id,
            func.count(),
            func.count(case((closed, 1))),
            func.count(case((on_time, 1))),
            func.count(case((overdue, 1))),
        )
        .select_from(Assignment)
        .where(Assignment.unit_id.in_(authz.scope_unit_ids_of(root.id)))
        .where(Assignment.parent_id.is_(None))  # splits inside a court are not counted twice
    )
    stmt = authz.scope(stmt, Assignment, user)
    if project_id:
        stmt = stmt.join(Task, Task.id == Assignment.task_id).where(Task.project_id == project_id)
    if date_from:
        stmt = stmt.where(Assignment.deadline >= date_from)
    if date_to:
        stmt = stmt.where(Assignment.deadline <= date_to)
    return [tuple(row) for row in db.session.execute(stmt.group_by(Assignment.unit_id))]


def latest_reviews(
    unit_ids: list[int], project_id: int | None, date_from: date | None, date_to: date | None
) -> dict[int, CompletionReview]:
    stmt = (
        select(CompletionReview)
        .where(CompletionReview.unit_id.in_(unit_ids))
        .where(
            CompletionReview.project_id.is_(None)
            if project_id is None
            else CompletionReview.project_id == project_id
        )
        .where(
            CompletionReview.period_from.is_(None)
            if date_from is None
            else CompletionReview.period_from == date_from
        )
        .where(
            CompletionReview.period_to.is_(None) if date_to is None else CompletionReview.period_to == date_to
        )
        .order_by(CompletionReview.created_at, CompletionReview.id)
    )
    return {r.unit_id: r for r in db.session.scalars(stmt)}


def completion_items_query(
    user: Any,
    unit: Unit,
    today: date,
    *,
    project_id: int | None,
    date_from: date | None,
    date_to: date | None,
) -> Select:
    """The items behind one unit's row (its whole subtree): every one of them, in the
    order of the list — the export streams them all, the print view takes the first."""
    f = AssignmentFilters(
        project_id=project_id, unit_id=unit.id, deadline_from=date_from, deadline_to=date_to, sort="unit"
    )
    # The same items the counts are made of: splits inside a court are not listed again.
    return assignments_query(user, f, today).where(Assignment.parent_id.is_(None))


def completion_items(
    user: Any,
    unit: Unit,
    today: date,
    *,
    project_id: int | None,
    date_from: date | None,
    date_to: date | None,
    limit: int = 500,
) -> list[Assignment]:
    """The first `limit` items behind one unit's row, for the print view."""
    stmt = completion_items_query(
        user, unit, today, project_id=project_id, date_from=date_from, date_to=date_to
    )
    return list(db.session.scalars(stmt.limit(limit)))


def stream(stmt: Select, batch: int = 2000) -> Iterator[Any]:
    """Every row of `stmt`, fetched `batch` at a time (an export of any length keeps one
    batch in memory, never the whole result): objects for a query of one entity, plain
    rows for a query of columns."""
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    return iter(result.scalars() if len(stmt.column_descriptions) == 1 else result)


def soon(today: date) -> date:
    return today + timedelta(days=DUE_SOON_DAYS)


def traffic_light_of(a: Assignment, today: date) -> str:
    """红黄绿灯 for an assignment: red / yellow / green / grey (see app.deadlines)."""
    start = to_local(a.created_at).date() if a.created_at else None
    return traffic_light(a.deadline, a.status == "closed", today, progress=a.progress or 0, start=start)
