"""Small read helpers shared by the task pages and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from sqlalchemy import select

from app import authz
from app.extensions import db
from app.org.models import Unit
from app.org.queries import subtree_units
from app.tasks.models import Category, Project


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


def categories() -> dict[int, str]:
    rows = db.session.execute(
        select(Category.id, Category.name)
        .where(Category.is_active.is_(True))
        .order_by(Category.sort_order, Category.id)
    )
    return {0: "（未分类）", **dict(rows.all())}


def visible_projects(user: Any) -> list[Project]:
    stmt = authz.scope(select(Project), Project, user).where(Project.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(Project.start.desc(), Project.id.desc())))


def units_by_ids(ids: list[int]) -> list[Unit]:
    if not ids:
        return []
    found = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def arg_int(name: str) -> int | None:
    return request.args.get(name, type=int) or None
