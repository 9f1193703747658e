"""Writes on saved views: save, edit (rename, share, default), delete — each journaled,
each with an explicit actor and `now`, flushed not committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app import journal
from app.errors import ServiceError, check_version, hold_version
from app.extensions import db
from app.savedviews import lists
from app.savedviews.models import SavedView
from app.textclean import has_nul, hidden_char, hidden_message
from app.validation import allow, clean_text

FIELDS = ("list_key", "name", "query", "shared", "is_default")
NAME_MAX = 50
PER_LIST_MAX = 50  # views of one owner for one list
FORBIDDEN = "只能修改自己保存的查询。"


def create_view(
    actor: Any,
    *,
    list_key: str,
    name: str | None,
    query: str,
    shared: bool,
    is_default: bool,
    now: datetime,
) -> tuple[SavedView, list[str]]:
    """Save the list's current query under a name; what the list does not know (or the
    user may not use) is left out and named in the second value."""
    spec = lists.spec_of(list_key)
    if spec is None:
        raise ServiceError("这个列表不能保存查询。")
    clean = _name(actor, list_key, name)
    count = db.session.scalar(
        select(func.count(SavedView.id)).where(SavedView.owner_id == actor.id, SavedView.list_key == list_key)
    )
    if count >= PER_LIST_MAX:
        raise ServiceError(f"每个列表最多保存 {PER_LIST_MAX} 个查询，请先删除不用的。")
    kept, ignored = lists.resolve(spec, lists.parse(query), actor)
    encoded = lists.encode(kept)
    if len(encoded) > lists.MAX_QUERY:
        raise ServiceError("查询条件太长，无法保存。")
    if is_default:
        _clear_default(actor, list_key, now)
    view = SavedView(
        owner_id=actor.id,
        list_key=list_key,
        name=clean,
        query=encoded,
        shared=bool(shared),
        is_default=bool(is_default),
        created_at=now,
        updated_at=now,
    )
    db.session.add(view)
    db.session.flush()
    journal.record(
        actor, "saved_view.create", view, None, journal.snapshot(view, FIELDS), unit_id=actor.unit_id, now=now
    )
    return view, ignored


def update_view(
    actor: Any,
    view: SavedView,
    *,
    name: str | None,
    shared: bool,
    is_default: bool,
    expected_version: Any,
    now: datetime,
) -> SavedView:
    """Rename, share or unshare, make or unmake the default: one journal entry naming
    what changed (and one for the view that stops being the default)."""
    allow(actor, "view.manage", view, FORBIDDEN)
    check_version(view, expected_version)
    clean = _name(actor, view.list_key, name, this=view)
    before = journal.snapshot(view, FIELDS)
    if is_default and not view.is_default:
        _clear_default(actor, view.list_key, now, keep=view)
    view.name, view.shared, view.is_default = clean, bool(shared), bool(is_default)
    hold_version(view, expected_version, now)
    after = journal.snapshot(view, FIELDS)
    changed = [k for k in FIELDS if before[k] != after[k]]
    if changed:
        journal.record(
            actor,
            _action(changed),
            view,
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
            unit_id=actor.unit_id,
            now=now,
        )
    return view


def set_default(actor: Any, view: SavedView, *, on: bool, expected_version: Any, now: datetime) -> SavedView:
    """设为默认 / 取消默认 from the list's sidebar."""
    return update_view(
        actor,
        view,
        name=view.name,
        shared=view.shared,
        is_default=on,
        expected_version=expected_version,
        now=now,
    )


def delete_view(actor: Any, view: SavedView, *, expected_version: Any, now: datetime) -> None:
    """Delete one's own view; the journal keeps what it was."""
    allow(actor, "view.manage", view, FORBIDDEN)
    check_version(view, expected_version)
    journal.record(
        actor, "saved_view.delete", view, journal.snapshot(view, FIELDS), None, unit_id=actor.unit_id, now=now
    )
    db.session.delete(view)
    db.session.flush()


def _action(changed: list[str]) -> str:
    """rename / share / default when one thing changed, else update."""
    names = {"name": "saved_view.rename", "shared": "saved_view.share", "is_default": "saved_view.default"}
    return names[changed[0]] if len(changed) == 1 else "saved_view.update"


def _name(actor: Any, list_key: str, name: str | None, *, this: SavedView | None = None) -> str:
    hidden = None if has_nul(name) else hidden_char(name)  # NUL: clean_text's own message
    if hidden is not None:
        raise ServiceError(hidden_message("查询名称", hidden), "name")
    clean = clean_text(name, "查询名称", NAME_MAX)
    clean = " ".join(clean.split())  # one line: newlines and runs of spaces become one space
    taken = select(SavedView.id).where(
        SavedView.owner_id == actor.id, SavedView.list_key == list_key, SavedView.name == clean
    )
    if this is not None:
        taken = taken.where(SavedView.id != this.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise ServiceError(f"您在这个列表已有名为“{clean}”的查询，请换一个名称。", "name")
    return clean


def _clear_default(actor: Any, list_key: str, now: datetime, *, keep: SavedView | None = None) -> None:
    """The owner's other default of this list stops being one (journaled)."""
    stmt = select(SavedView).where(
        SavedView.owner_id == actor.id, SavedView.list_key == list_key, SavedView.is_default.is_(True)
    )
    for other in db.session.scalars(stmt):
        if keep is not None and other.id == keep.id:
            continue
        other.is_default = False
        other.updated_at = now
        journal.record(
            actor,
            "saved_view.default",
            other,
            {"is_default": True},
            {"is_default": False},
            unit_id=actor.unit_id,
            now=now,
        )
    db.session.flush()  # before the new default is written: the partial unique index
