"""Who may talk on an item or a visit, registered into the one policy (app/authz.py) at
start-up, with the SQL twin the watchers and @mentions need: the people who may see one.

- Reading the discussion and watching (关注): whoever sees the item or the visit.
- Commenting: whoever sees it, except the read-only accounts (只读用户, a wall display,
  which holds no role) — the roles that act somewhere in the product.
- Editing: the author, while the comment stands (the 15 minutes are the service's: they
  depend on `now`). Withdrawing (撤回): the author, or a 系统管理员 above the author's unit
  (the administrator of that unit's accounts), while the comment stands."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, or_, select

from app import authz
from app.discussion.models import Comment
from app.extensions import db
from app.org.models import UnitClosure, User, UserRole
from app.tasks.models import Assignment
from app.visits.models import Visit, VisitTarget

# The acting roles: every role but the read-only one and the two administrators of
# 三员分立 who do nothing else (authz.security_only keeps them off these pages anyway).
COMMENT_ROLES = ("admin", "reviewer", "assigner", "leader", "coordinator", "tribunal_head", "staff")
SUBJECT_MODELS: dict[str, type] = {"Assignment": Assignment, "Visit": Visit}


def subject_of(comment: Any) -> Any:
    model = SUBJECT_MODELS.get(comment.subject_type)
    return db.session.get(model, comment.subject_id) if model else None


def _sees_comment(user: Any, c: Comment) -> bool:
    subject = subject_of(c)
    return subject is not None and authz.sees(user, subject)


def _may_comment(user: Any, obj: Any) -> bool:
    return type(obj) in SUBJECT_MODELS.values() and user.has_role(*COMMENT_ROLES) and authz.sees(user, obj)


def _author(user: Any, c: Any) -> bool:
    return (
        isinstance(c, Comment)
        and c.withdrawn_at is None
        and c.author_id == user.id
        and _sees_comment(user, c)
    )


def _withdrawer(user: Any, c: Any) -> bool:
    if _author(user, c):
        return True
    if not isinstance(c, Comment) or c.withdrawn_at is not None or not user.has_role("admin"):
        return False
    author = db.session.get(User, c.author_id)
    return author is not None and author.unit_id in authz.visible_unit_ids(user) and _sees_comment(user, c)


def units_of(obj: Any):
    """SELECT of the units an item or a visit sits in: whoever's subtree holds one of
    them sees it (the twin of authz._SEES for Assignment and Visit)."""
    if isinstance(obj, Assignment):
        return [obj.unit_id, obj.assigned_by_unit_id]
    return (
        select(Visit.organizer_unit_id)
        .where(Visit.id == obj.id)
        .union(select(VisitTarget.unit_id).where(VisitTarget.visit_id == obj.id))
    )


def viewers_clause(obj: Any):
    """SQL over User: the active people who may see this item or visit — their unit is one
    of its units or above one (one closure lookup per person, by index)."""
    units = units_of(obj)
    return and_(
        User.active.is_(True),
        exists().where(UnitClosure.ancestor_id == User.unit_id, UnitClosure.descendant_id.in_(units)),
        opens_pages(),
    )


def opens_pages():
    """SQL over User: not an account of 三员分立's 安全管理员 or 审计员 alone (authz.security_only),
    who opens no item or visit."""
    roles = select(UserRole.user_id).where(UserRole.user_id == User.id)
    return or_(~exists(roles), exists(roles.where(UserRole.role.not_in(authz.GUARDED_ROLES))))


def assignment_viewer_clause():
    """SQL over User and Assignment (joined by the caller): the person may see the item."""
    return exists().where(
        UnitClosure.ancestor_id == User.unit_id,
        or_(
            UnitClosure.descendant_id == Assignment.unit_id,
            UnitClosure.descendant_id == Assignment.assigned_by_unit_id,
        ),
    )


def visit_viewer_clause():
    """SQL over User and Visit (joined by the caller): the person may see the visit."""
    below = select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == User.unit_id)
    return or_(
        Visit.organizer_unit_id.in_(below),
        exists().where(VisitTarget.visit_id == Visit.id, VisitTarget.unit_id.in_(below)),
    )


def register() -> None:
    authz._SEES[Comment] = _sees_comment
    authz.RULES.update(
        {
            # Discussion on an item (issue 15): see it → read and watch; act somewhere → comment.
            "discussion.view": lambda u, o: authz.sees(u, o),
            "discussion.watch": lambda u, o: authz.sees(u, o),
            "discussion.comment": _may_comment,
            "comment.edit": _author,
            "comment.withdraw": _withdrawer,
        }
    )
    from app.discussion.watching import register as register_watching

    register_watching()
