"""The 我的查询 block beside a list: loaded in one statement, and the default applied
to a bare list (no query string at all) by a redirect through `open_view` — so the
URL then carries the filters, and paging, exports and the 清除条件 link (`view=0`, a
query string of its own) never loop back into the default."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Select, bindparam, select

from app import authz
from app.extensions import db
from app.org.models import User
from app.savedviews.lists import LISTS, ListSpec
from app.savedviews.models import SavedView
from app.sqlutil import prebuilt

SHOWN_MAX = 200  # the sidebar's own cap (50 of one's own per list, and the colleagues')


@dataclass
class Sidebar:
    spec: ListSpec
    own: list[SavedView] = field(default_factory=list)
    shared: list[tuple[SavedView, str]] = field(default_factory=list)  # (view, owner's name)
    current_id: int | None = None

    @property
    def default(self) -> SavedView | None:
        return next((v for v in self.own if v.is_default), None)

    @property
    def count(self) -> int:
        return len(self.own) + len(self.shared)


def load(spec: ListSpec, user: Any) -> Sidebar:
    """The user's views of this list and those his colleagues share: one statement."""
    bar = Sidebar(spec, current_id=request.args.get("view", type=int))
    for view, owner_name in db.session.execute(
        _statement(), {**authz.scope_params(user), "list_key": spec.key}
    ):
        if view.owner_id == user.id:
            bar.own.append(view)
        else:
            bar.shared.append((view, owner_name))
    return bar


@prebuilt
def _statement() -> Select:
    return (
        select(SavedView, User.display_name)
        .where(authz.kept_scope(SavedView))
        .join(User, User.id == SavedView.owner_id)
        .where(SavedView.list_key == bindparam("list_key"))
        .order_by(SavedView.name, SavedView.id)
        .limit(SHOWN_MAX)
    )


def with_saved_views(list_key: str):
    """For a list view (under @login_required): the sidebar in `g.saved_views`, and the
    user's default view applied when the list is opened bare."""
    spec = LISTS[list_key]

    def decorate(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            bar = load(spec, current_user)
            if not request.args and bar.default is not None:
                return redirect(url_for("savedviews.open_view", view_id=bar.default.id))
            g.saved_views = bar
            return fn(*args, **kwargs)

        return wrapper

    return decorate
