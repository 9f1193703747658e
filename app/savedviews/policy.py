"""Who sees and manages saved views — registered into the one policy (app/authz.py) at
start-up, as the indicators' rules are.

- Your own views: yours to open, rename, share, make the default, delete.
- A shared view: opened by the people of its owner's unit (his unit now, not when he
  saved it), never changed by them.
- Anyone else's view, private or shared elsewhere: hidden (404), not forbidden."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select

from app import authz
from app.extensions import db
from app.org.models import User
from app.savedviews.models import SavedView


def _clause(user: Any):
    colleagues = select(User.id).where(User.unit_id == user.unit_id)
    return or_(
        SavedView.owner_id == user.id, and_(SavedView.shared.is_(True), SavedView.owner_id.in_(colleagues))
    )


def _sees(user: Any, view: SavedView) -> bool:
    if view.owner_id == user.id:
        return True
    owner = db.session.get(User, view.owner_id)
    return bool(view.shared) and owner is not None and owner.unit_id == user.unit_id


def register() -> None:
    authz.CLAUSES[SavedView] = _clause
    authz._SEES[SavedView] = _sees
    authz.RULES.update(
        {
            "view.save": lambda u, o: True,  # any list the user may open, his own query
            "view.open": lambda u, o: authz.sees(u, o),
            "view.manage": lambda u, o: o.owner_id == u.id,
        }
    )
