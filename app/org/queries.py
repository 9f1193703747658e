"""Reads on the tree, all scoped by the policy and set-based."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app import authz
from app.extensions import db
from app.org.models import Unit, UnitClosure, UnitName, User, UserRole
from app.sqlutil import contains


@dataclass
class TreeRow:
    unit: Unit
    depth: int


def subtree_units(
    user: Any,
    *,
    root_id: int | None = None,
    include_inactive: bool = True,
    limit: int | None = None,
) -> list[TreeRow]:
    """Units the user sees (optionally only under root_id), in tree order with depth.
    One query for the units and their names; the ordering is done in memory."""
    root_id = root_id or user.unit_id
    stmt = (
        select(Unit, UnitClosure.depth)
        .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
        .where(UnitClosure.ancestor_id == root_id)
    )
    stmt = authz.scope(stmt, Unit, user)
    if not include_inactive:
        stmt = stmt.where(Unit.is_active.is_(True))
    rows = db.session.execute(stmt.order_by(UnitClosure.depth, Unit.sort_order, Unit.id)).all()
    _load_names([u for u, _ in rows])
    children: dict[int | None, list[tuple[Unit, int]]] = {}
    ids = {u.id for u, _ in rows}
    for unit, depth in rows:
        key = unit.parent_id if unit.parent_id in ids else None
        children.setdefault(key, []).append((unit, depth))
    out: list[TreeRow] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit, depth = stack.pop()
        out.append(TreeRow(unit, depth))
        if limit and len(out) >= limit:
            break
        stack.extend(reversed(children.get(unit.id, [])))
    return out


def _load_names(units: list[Unit]) -> None:
    """Fill unit.names for many units with one query (avoids one query per row)."""
    if not units:
        return
    by_id = {u.id: u for u in units}
    names: dict[int, list[UnitName]] = {uid: [] for uid in by_id}
    for row in db.session.scalars(
        select(UnitName).where(UnitName.unit_id.in_(list(by_id))).order_by(UnitName.id)
    ):
        names[row.unit_id].append(row)
    for uid, rows in names.items():
        set_committed_value(by_id[uid], "names", rows)


def subtree_counts(user: Any) -> dict[str, int]:
    """How many active units of each level, and users, the user can reach."""
    level_counts = dict(
        db.session.execute(
            authz.scope(select(Unit.level, func.count()), Unit, user)
            .where(Unit.is_active.is_(True))
            .group_by(Unit.level)
        ).all()
    )
    users = db.session.scalar(
        authz.scope(select(func.count()).select_from(User), User, user).where(User.active.is_(True))
    )
    return {**level_counts, "users": users or 0}


def search_units(user: Any, q: str, *, include_inactive: bool = True) -> list[Unit]:
    """Units in scope whose official name, short name or alias contains q."""
    matching = select(UnitName.unit_id).where(contains(UnitName.name, q))
    stmt = authz.scope(select(Unit), Unit, user).where(
        or_(Unit.id.in_(matching), contains(Unit.feature_label, q))
    )
    if not include_inactive:
        stmt = stmt.where(Unit.is_active.is_(True))
    units = list(db.session.scalars(stmt.order_by(Unit.level, Unit.id).limit(200)))
    _load_names(units)
    return units


def unit_choices(user: Any, *, levels: tuple[str, ...] | None = None) -> dict[int, str]:
    """{id: indented label} for a select of the active units the user sees, in tree order."""
    rows = subtree_units(user, include_inactive=False)
    return {
        r.unit.id: "\u3000" * r.depth + r.unit.name for r in rows if levels is None or r.unit.level in levels
    }


def child_units(unit: Unit) -> list[Unit]:
    units = list(
        db.session.scalars(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.sort_order, Unit.id))
    )
    _load_names(units)
    return units


def ancestors(unit: Unit) -> list[Unit]:
    """From the root down to the unit's parent."""
    stmt = (
        select(Unit)
        .join(UnitClosure, UnitClosure.ancestor_id == Unit.id)
        .where(UnitClosure.descendant_id == unit.id, UnitClosure.depth > 0)
        .order_by(UnitClosure.depth.desc())
    )
    return list(db.session.scalars(stmt))


def users_query(user: Any, *, q: str = "", unit_id: int | None = None, role: str = "", status: str = ""):
    """The admin's user list, scoped in SQL, with filters."""
    stmt = authz.scope(select(User), User, user)
    if q.strip():
        stmt = stmt.where(or_(contains(User.username, q), contains(User.display_name, q)))
    if unit_id:
        stmt = stmt.where(
            User.unit_id.in_(select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == unit_id))
        )
    if role == "none":  # accounts waiting for the 安全管理员 to grant a role
        stmt = stmt.where(User.id.not_in(select(UserRole.user_id)))
    elif role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    return stmt.options(joinedload(User.unit)).order_by(User.unit_id, User.username)
