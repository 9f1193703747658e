"""Small read helpers shared by the task pages and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from sqlalchemy import Integer, Select, bindparam, or_, select

from app import authz
from app.extensions import db
from app.org.models import Unit, UnitClosure, User
from app.org.queries import subtree_units
from app.sqlutil import prebuilt
from app.tasks.models import Category, Project
from app.tasks.queries import AssignmentFilters

# The list's filter arguments. A link that names any of them (the dashboards', the
# completion list's, a digest's) means exactly those filters, every status unless it
# names one; /assignments with none of them opens on the open items.
FILTER_ARGS = (
    "project",
    "unit",
    "status",
    "from",
    "to",
    "category",
    "responsible",
    "q",
    "light",
    "kind",
    "top",
    "by",
)
DEFAULT_STATUS = "open"
ALL_STATUSES = "all"  # status=all: the default cleared, every status


def parse_date(value: str | None) -> date | None:
    """A YYYY-MM-DD query argument, or None (bad input is ignored, not a 500)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def assignable_units(user: Any) -> dict[int, str]:
    """Units strictly below the user's own, active, in tree order (indented labels)."""
    return {
        r.unit.id: "\u3000" * max(r.depth - 1, 0) + r.unit.name
        for r in subtree_units(user, include_inactive=False)
        if r.unit.id != user.unit_id
    }


def filter_units(user: Any, selected: int | None) -> dict[int, str]:
    """The list's unit filter, bounded by the tree's width, not its size: the units just
    below the user's own, the path down to the selected unit, and the selected unit's
    own children — in tree order, indented. (All 485 units of a province in every list
    page cost more than the list itself.) One query."""
    rows = db.session.execute(
        _filter_units_statement(), {**authz.scope_params(user), "selected": selected or 0}
    ).all()
    children: dict[int | None, list] = {}
    ids = {r.id for r in rows}
    for r in rows:
        children.setdefault(r.parent_id if r.parent_id in ids else None, []).append(r)
    out: dict[int, str] = {}
    stack = list(reversed(children.get(None, [])))
    while stack:
        r = stack.pop()
        out[r.id] = "\u3000" * max(r.depth - 1, 0) + r.name
        stack.extend(reversed(children.get(r.id, [])))
    return out


@prebuilt
def _filter_units_statement() -> Select:
    """Below the user's unit (scope_unit_id): the units one level down, and with a unit
    `selected` (0: none) the path down to it and its children."""
    top = authz.ANY_USER.unit_id  # the user's unit, bound as kept_scope binds it
    selected = bindparam("selected", type_=Integer)
    path = select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == selected)
    shown = or_(UnitClosure.depth == 1, Unit.id.in_(path), Unit.parent_id == selected)
    return (
        select(Unit.id, Unit.name, Unit.parent_id, UnitClosure.depth)
        .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
        .where(UnitClosure.ancestor_id == top, UnitClosure.depth >= 1)
        .where(Unit.is_active.is_(True), authz.kept_scope(Unit), shown)
        .order_by(UnitClosure.depth, Unit.sort_order, Unit.id)
    )


def filter_people(user: Any, unit_id: int | None, selected: int | None) -> list[tuple[int, str]]:
    """The list's person filter: the people of the chosen unit (the user's own when none
    is chosen) and the person already chosen — not every account of the subtree."""
    params = {**authz.scope_params(user), "unit_id": unit_id or user.unit_id, "selected": selected or 0}
    return list(db.session.execute(_people_statement(), params).all())


@prebuilt
def _people_statement() -> Select:
    chosen = or_(
        User.unit_id == bindparam("unit_id", type_=Integer), User.id == bindparam("selected", type_=Integer)
    )
    return (
        select(User.id, User.display_name)
        .where(authz.kept_scope(User), chosen, User.active.is_(True))
        .order_by(User.display_name)
    )


def categories() -> dict[int, str]:
    return {0: "（未分类）", **dict(db.session.execute(_categories_statement()).all())}


@prebuilt
def _categories_statement() -> Select:
    return (
        select(Category.id, Category.name)
        .where(Category.is_active.is_(True))
        .order_by(Category.sort_order, Category.id)
    )


def visible_projects(user: Any) -> list[Project]:
    return list(db.session.scalars(_projects_statement(), authz.scope_params(user)))


@prebuilt
def _projects_statement() -> Select:
    return (
        select(Project)
        .where(authz.kept_scope(Project), Project.is_active.is_(True))
        .order_by(Project.start.desc(), Project.id.desc())
    )


def units_by_ids(ids: list[int]) -> list[Unit]:
    if not ids:
        return []
    found = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def arg_int(name: str) -> int | None:
    return request.args.get(name, type=int) or None


def list_status(args: Any) -> str:
    """The status filter of the assignment list: the one asked for ("all" or empty: every
    status); none asked for, the open items — unless the link names other filters."""
    status = args.get("status")
    if status is None:
        return "" if any(args.get(name) for name in FILTER_ARGS) else DEFAULT_STATUS
    return "" if status == ALL_STATUSES else status


def filters_from_args() -> AssignmentFilters:
    """The assignment list's filters from the query string (the page and its export):
    bad values are ignored, never a 500; with no filter at all, the open items."""
    args = request.args
    return AssignmentFilters(
        project_id=arg_int("project"),
        unit_id=arg_int("unit"),
        status=list_status(args),
        deadline_from=parse_date(args.get("from")),
        deadline_to=parse_date(args.get("to")),
        category_id=arg_int("category"),
        responsible_id=arg_int("responsible"),
        q=args.get("q", "")[:100],
        sort=args.get("sort", "deadline"),
        light=args.get("light", ""),
        kind=args.get("kind", ""),
        top_only=args.get("top") == "1",
        assigned_by_id=arg_int("by"),
    )
