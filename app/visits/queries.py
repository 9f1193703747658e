"""Reads on visits: lists and the coverage report (who was visited, who was not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from app import authz
from app.deadlines import add_months
from app.extensions import db
from app.org.models import Unit, User
from app.visits.models import Pairing, Visit, VisitLeader, VisitTarget


def visits_query(
    user: Any,
    *,
    status: str = "",
    unit_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
):
    stmt = authz.scope(select(Visit), Visit, user)
    day = func.coalesce(Visit.actual_start, Visit.planned_start)
    if date_from:
        stmt = stmt.where(day >= date_from)
    if date_to:
        stmt = stmt.where(day <= date_to)
    if status in ("planned", "done"):
        stmt = stmt.where(Visit.status == status)
    if unit_id:
        stmt = stmt.where(
            Visit.id.in_(
                select(VisitTarget.visit_id).where(VisitTarget.unit_id.in_(authz.scope_unit_ids_of(unit_id)))
            )
        )
    return stmt.order_by(Visit.planned_start.desc(), Visit.id.desc())


def is_unrecorded(visit: Visit, today: date) -> bool:
    """A planned visit whose dates have passed without a record (flagged, derived)."""
    return visit.status == "planned" and visit.planned_end < today


@dataclass
class CoverageRow:
    unit: Unit
    visits: int
    last_visit: date | None
    leaders: list[str]
    paired: list[str]


def coverage(
    user: Any, root: Unit, *, months: int, today: date, levels: tuple[str, ...] = ("base", "tribunal")
) -> tuple[list[CoverageRow], list[Unit]]:
    """For base courts and tribunals under `root`: done visits in the last `months`
    months, the last one, by whom; and the units nobody visited. Three queries."""
    since = add_months(today, -months) + timedelta(days=0)
    under_root = authz.scope_unit_ids_of(root.id)
    units = list(
        db.session.scalars(
            authz.scope(select(Unit), Unit, user)
            .where(Unit.id.in_(under_root), Unit.level.in_(levels), Unit.is_active.is_(True))
            .order_by(Unit.parent_id, Unit.sort_order, Unit.id)
        )
    )
    ids = {u.id for u in units}
    # One pass over the visits for the counts, the last day and the leaders. The units
    # are named by the subtree's SELECT, not by a list of ids: with a list of 470 ids
    # SQLite probed the visit_targets key once per id for every visit (65 ms → 9 ms).
    visit_day = func.coalesce(Visit.actual_start, Visit.planned_start)
    visited: dict[int, set[int]] = {}
    last: dict[int, date] = {}
    leaders: dict[int, set[str]] = {}
    for uid, visit_id, day, name in db.session.execute(
        select(VisitTarget.unit_id, Visit.id, visit_day, User.display_name)
        .join(Visit, Visit.id == VisitTarget.visit_id)
        .outerjoin(VisitLeader, VisitLeader.visit_id == Visit.id)
        .outerjoin(User, User.id == VisitLeader.user_id)
        .where(
            VisitTarget.unit_id.in_(under_root),
            Visit.status == "done",
            visit_day >= since,
            visit_day <= today,
        )
    ):
        if uid not in ids:  # a court of another level (an intermediate court) or switched off
            continue
        visited.setdefault(uid, set()).add(visit_id)
        last[uid] = max(last.get(uid, day), day)
        if name is not None:
            leaders.setdefault(uid, set()).add(name)
    paired: dict[int, list[str]] = {}
    for uid, name in db.session.execute(
        select(Pairing.unit_id, User.display_name)
        .join(User, User.id == Pairing.leader_id)
        .where(Pairing.unit_id.in_(under_root))
        .order_by(Pairing.id)
    ).all():
        if uid in ids:
            paired.setdefault(uid, []).append(name)
    rows = [
        CoverageRow(
            u, len(visited.get(u.id, ())), last.get(u.id), sorted(leaders.get(u.id, ())), paired.get(u.id, [])
        )
        for u in units
    ]
    return rows, [r.unit for r in rows if r.visits == 0]
