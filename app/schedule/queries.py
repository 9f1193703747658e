"""Reads for the calendar and the Gantt chart: scoped by the policy in SQL, counted by
the database, a page at a time — the cost of a page does not grow with the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, case, func, literal, null, select, union_all

from app import authz
from app.deadlines import overdue_clause
from app.extensions import db
from app.org.models import UnitClosure
from app.sqlutil import IdFirstPagination, paginate_by_id
from app.tasks.models import Assignment, AssignmentStep, Project, Task
from app.tasks.queries import AssignmentFilters, assignments_query

MILESTONE = "milestone"


@dataclass
class DayCount:
    """What falls on one day: items due, of those still open past it, milestones."""

    due: int = 0
    overdue: int = 0
    milestones: int = 0


def _deadlines(user: Any, first: date, last: date) -> Select:
    return authz.scope(select(Assignment.id), Assignment, user).where(
        Assignment.deadline.is_not(None), Assignment.deadline >= first, Assignment.deadline <= last
    )


def _milestones(user: Any, first: date, last: date) -> Select:
    return authz.scope(
        select(AssignmentStep.id).join(Assignment, Assignment.id == AssignmentStep.assignment_id),
        Assignment,
        user,
    ).where(AssignmentStep.kind == MILESTONE, AssignmentStep.due >= first, AssignmentStep.due <= last)


def day_counts(user: Any, first: date, last: date, today: date) -> dict[date, DayCount]:
    """Per day from `first` to `last`: items due (their effective deadline, after any
    extension), those of them open and past (逾期), milestones due. One grouped statement."""
    overdue = case((overdue_clause(Assignment.deadline, Assignment.status, today), 1), else_=0)
    items = _deadlines(user, first, last).with_only_columns(
        Assignment.deadline.label("day"),
        literal(1).label("due"),
        overdue.label("overdue"),
        literal(0).label("milestone"),
    )
    steps = _milestones(user, first, last).with_only_columns(
        AssignmentStep.due.label("day"), literal(0), literal(0), literal(1)
    )
    both = union_all(items, steps).subquery()
    rows = db.session.execute(
        select(both.c.day, func.sum(both.c.due), func.sum(both.c.overdue), func.sum(both.c.milestone))
        .group_by(both.c.day)
        .order_by(both.c.day)
    )
    out: dict[date, DayCount] = {}
    for day, due, overdue_n, milestones in rows:
        if isinstance(day, str):  # SQLite hands a union's dates back as text
            day = date.fromisoformat(day)
        out[day] = DayCount(int(due or 0), int(overdue_n or 0), int(milestones or 0))
    return out


class _RowPagination(SelectPagination):
    """`db.paginate` for a select of plain rows (not one entity per row)."""

    def _query_items(self) -> list[Any]:
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(stmt).all())


@dataclass
class DayItem:
    """One line of a day's page: an item due that day, or a milestone of an item."""

    assignment: Assignment
    step: AssignmentStep | None = None


def day_items(
    user: Any, day: date, today: date, *, page: int, per_page: int
) -> tuple[SelectPagination, list[DayItem]]:
    """The items due on `day` and the milestones due on it, items first, a page at a
    time: the page's (assignment, step) ids from one union, then those rows by id."""
    items = _deadlines(user, day, day).with_only_columns(
        literal(0).label("kind"), Assignment.id.label("assignment_id"), null().label("step_id")
    )
    steps = _milestones(user, day, day).with_only_columns(
        literal(1), AssignmentStep.assignment_id, AssignmentStep.id
    )
    both = union_all(items, steps).subquery()
    stmt = select(both.c.kind, both.c.assignment_id, both.c.step_id).order_by(
        both.c.kind, both.c.assignment_id, both.c.step_id
    )
    pagination = _RowPagination(
        select=stmt,
        session=db.session(),
        page=page,
        per_page=per_page,
        max_per_page=None,
        error_out=False,
    )
    rows = pagination.items
    a_ids = {r.assignment_id for r in rows}
    s_ids = {r.step_id for r in rows if r.step_id is not None}
    loaded = {}
    if a_ids:
        stmt = assignments_query(user, AssignmentFilters(ids=sorted(a_ids)), today)
        loaded = {a.id: a for a in db.session.scalars(stmt).unique()}
    steps_by_id = (
        {s.id: s for s in db.session.scalars(select(AssignmentStep).where(AssignmentStep.id.in_(s_ids)))}
        if s_ids
        else {}
    )
    lines = [
        DayItem(loaded[r.assignment_id], steps_by_id.get(r.step_id) if r.step_id is not None else None)
        for r in rows
        if r.assignment_id in loaded
    ]
    return pagination, lines


# ---------------------------------------------------------------- the Gantt chart


# By receiving unit (in the order units were made — the tree's order for an imported or
# seeded tree — which needs no join to units), then deadline.
GANTT_ORDER = (Assignment.unit_id, Assignment.deadline.is_(None), Assignment.deadline, Assignment.id)


def gantt_rows(
    user: Any, project: Project, unit_id: int | None, today: date, *, page: int, per_page: int
) -> tuple[IdFirstPagination, dict[int, list[AssignmentStep]]]:
    """A page of the project's assignments the user may see (optionally a unit's
    subtree), grouped by receiving unit, each with its item and unit; and the dated
    milestones of the page's rows."""
    # The ids from the project's items (ix_tasks_project_id → ix_assignments_task_id):
    # the list's own ids query led SQLite through every item of the user's subtree
    # (170,000 for the high court) to keep a project's 10,894.
    ids = authz.scope(select(Assignment.id), Assignment, user).where(
        Assignment.task_id.in_(select(Task.id).where(Task.project_id == project.id))
    )
    if unit_id:
        ids = ids.where(
            Assignment.unit_id.in_(
                select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == unit_id)
            )
        )
    rows = assignments_query(user, AssignmentFilters(project_id=project.id), today)
    pagination = paginate_by_id(rows, ids.order_by(*GANTT_ORDER), Assignment, page=page, per_page=per_page)
    page_ids = [a.id for a in pagination.items]
    steps: dict[int, list[AssignmentStep]] = {}
    if page_ids:
        for s in db.session.scalars(
            select(AssignmentStep)
            .where(
                AssignmentStep.assignment_id.in_(page_ids),
                AssignmentStep.kind == MILESTONE,
                AssignmentStep.due.is_not(None),
            )
            .order_by(AssignmentStep.due, AssignmentStep.id)
        ):
            steps.setdefault(s.assignment_id, []).append(s)
    return pagination, steps
