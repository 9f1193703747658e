"""Reads for the discussion: the panel on an item's or a visit's page (the latest
comments, oldest first, and whether the user watches it — one statement), the whole
thread a page at a time, and the people who may be @mentioned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from app import authz
from app.discussion.models import Comment, Watch
from app.discussion.policy import viewers_clause
from app.extensions import db
from app.org.models import Unit, User
from app.timeutil import utcnow

PANEL_SIZE = 20  # the item's page shows the latest 20; "更多" opens the whole thread
THREAD_SIZE = 50
PEOPLE_CAP = 300


@dataclass
class Shown:
    """A comment as the page shows it: its author's name and unit, who withdrew it."""

    comment: Comment
    author: str
    unit: str
    withdrawn_by: str | None = None


@dataclass
class Panel:
    subject_type: str
    subject_id: int
    comments: list[Shown] = field(default_factory=list)
    total: int = 0
    watching: bool = False
    watchers: int = 0
    offset: int = 0  # how many older comments come before the first shown
    now: datetime = field(default_factory=utcnow)  # for the 15 minutes an author may edit

    @property
    def more(self) -> int:
        return self.total - len(self.comments)


def _kind(obj: Any) -> str:
    return type(obj).__name__


def _rows(obj: Any, user: Any, *, newest_first: bool, limit: int, offset: int = 0):
    """One statement: the flags (watching, watchers), the comment total and a window of
    comments with their authors' names and units and who withdrew them. The flags come
    from a one-row derived table joined to the comments, so they arrive with no comment too."""
    mine = and_(Watch.subject_type == _kind(obj), Watch.subject_id == obj.id)
    flags = select(
        exists().where(mine, Watch.user_id == user.id).label("watching"),
        # only the watchers who may still see it (the others are told nothing any more)
        select(func.count(Watch.id))
        .join(User, User.id == Watch.user_id)
        .where(mine, viewers_clause(obj))
        .scalar_subquery()
        .label("watchers"),
    ).subquery()
    withdrawer = aliased(User)
    order = (
        (Comment.created_at.desc(), Comment.id.desc()) if newest_first else (Comment.created_at, Comment.id)
    )
    stmt = (
        select(
            flags.c.watching,
            flags.c.watchers,
            func.count(Comment.id).over().label("total"),
            Comment,
            User.display_name,
            Unit.name,
            withdrawer.display_name,
        )
        .select_from(flags)
        .outerjoin(Comment, and_(Comment.subject_type == _kind(obj), Comment.subject_id == obj.id))
        .outerjoin(User, User.id == Comment.author_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(withdrawer, withdrawer.id == Comment.withdrawn_by_id)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return db.session.execute(stmt).all()


def _shown(rows) -> tuple[list[Shown], bool, int, int]:
    shown = [Shown(c, author, unit, by) for _, _, _, c, author, unit, by in rows if c is not None]
    first = rows[0] if rows else None
    watching = bool(first.watching) if first else False
    watchers = int(first.watchers or 0) if first else 0
    total = int(first.total or 0) if first and first[3] is not None else 0
    return shown, watching, watchers, total


def panel(obj: Any, user: Any) -> Panel:
    """The latest comments (oldest first), their total, and the user's 关注 — one statement."""
    rows = _rows(obj, user, newest_first=True, limit=PANEL_SIZE)
    shown, watching, watchers, total = _shown(rows)
    shown.reverse()
    return Panel(_kind(obj), obj.id, shown, total, watching, watchers, offset=max(total - len(shown), 0))


def thread(obj: Any, user: Any, page: int) -> Panel:
    """Every comment, oldest first, a page at a time — one statement."""
    offset = (page - 1) * THREAD_SIZE
    rows = _rows(obj, user, newest_first=False, limit=THREAD_SIZE, offset=offset)
    shown, watching, watchers, total = _shown(rows)
    return Panel(_kind(obj), obj.id, shown, total, watching, watchers, offset=offset)


def people(obj: Any) -> list[tuple[int, str, str, str]]:
    """Who may be @mentioned: the active people who may see the item or visit (id,
    username, name, unit), by unit. One statement, capped."""
    stmt = (
        select(User.id, User.username, User.display_name, Unit.name)
        .join(Unit, Unit.id == User.unit_id)
        .where(viewers_clause(obj))
        .order_by(Unit.sort_order, Unit.id, User.id)
        .limit(PEOPLE_CAP)
    )
    return [tuple(r) for r in db.session.execute(stmt)]


def subject_or_404(kind: str, object_id: int, action: str, user: Any) -> Any:
    from app.discussion.policy import SUBJECT_MODELS

    model = SUBJECT_MODELS.get({"assignments": "Assignment", "visits": "Visit"}.get(kind, ""))
    if model is None:
        from flask import abort

        abort(404)
    return authz.get_scoped_or_404(model, object_id, action, user)
