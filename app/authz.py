"""The policy: who may do what, where. The only place that decides access.

Visibility is the user's unit and everything below it (one indexed lookup on the
closure table). Lists are filtered in SQL with `scope()`; single objects are loaded
with `get_scoped_or_404()` (hidden → 404, visible but not allowed → 403); `can()`
answers for one object. Unknown actions fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, g, has_request_context
from sqlalchemy import Select, select

from app.extensions import db
from app.org.models import Unit, UnitClosure, User


def scope_unit_ids(user: Any) -> Select:
    """SELECT of the ids of the units this user can see (own unit and below)."""
    return select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == user.unit_id)


def visible_unit_ids(user: Any) -> frozenset[int]:
    """The same set, loaded once per request for per-object checks."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cache: dict | None = None
    if has_request_context():
        cache = g.setdefault("_authz_visible", {})
        if user.id in cache:
            return cache[user.id]
    ids = frozenset(db.session.scalars(scope_unit_ids(user)))
    if cache is not None:
        cache[user.id] = ids
    return ids


def forget_cached_scope() -> None:
    """The tree changed (a unit added or moved): drop this request's cached sets."""
    if has_request_context():
        g.pop("_authz_visible", None)


# How each model is placed in the tree: the attribute naming its unit.
UNIT_COLUMN: dict[type, str] = {Unit: "id", User: "unit_id"}


def unit_of(obj: Any) -> int | None:
    return getattr(obj, UNIT_COLUMN[type(obj)])


def sees(user: Any, obj: Any) -> bool:
    """Whether the object lies inside the user's subtree."""
    return unit_of(obj) in visible_unit_ids(user)


def scope(query: Select, model: type, user: Any) -> Select:
    """Restrict a list query to rows inside the user's subtree (in SQL)."""
    column = getattr(model, UNIT_COLUMN[model])
    return query.where(column.in_(scope_unit_ids(user)))


def _admin(user: Any) -> bool:
    return user.has_role("admin")


def _admin_below_own(user: Any, obj: Any) -> bool:
    """Admins manage units strictly below their own (not their own root)."""
    return _admin(user) and sees(user, obj) and obj.id != user.unit_id


def _admin_other_user(user: Any, obj: Any) -> bool:
    return _admin(user) and sees(user, obj) and obj.id != user.id


RULES: dict[str, Callable[[Any, Any], bool]] = {
    # Route-level permissions (no object).
    "admin.access": lambda u, o: _admin(u),
    # Units.
    "unit.view": lambda u, o: sees(u, o),
    "unit.add_child": lambda u, o: _admin(u) and sees(u, o),
    "unit.edit": lambda u, o: _admin(u) and sees(u, o),
    "unit.move": _admin_below_own,
    "unit.deactivate": _admin_below_own,
    # Users.
    "user.view": lambda u, o: _admin(u) and sees(u, o),
    "user.edit": lambda u, o: _admin(u) and sees(u, o),
    "user.deactivate": _admin_other_user,
    "user.reset_password": _admin_other_user,
}


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May this user do this action (on this object)? Fails closed."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    rule = RULES.get(action)
    if rule is None:
        return False
    return bool(rule(user, obj))


def require(user: Any, action: str, obj: Any = None) -> None:
    """Abort: 404 when the object is hidden from the user, 403 when not allowed."""
    if obj is not None and type(obj) in UNIT_COLUMN and not sees(user, obj):
        abort(404)
    if not can(user, action, obj):
        abort(403)


def get_scoped_or_404(model: type, object_id: int, action: str, user: Any) -> Any:
    """Load → check scope (404) → check action (403)."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    require(user, action, obj)
    return obj
