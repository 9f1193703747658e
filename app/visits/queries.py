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
    units = list(
        db.session.scalars(
            authz.scope(select(Unit), Unit, user)
            .where(
                Unit.id.in_(authz.scope_unit_ids_of(root.id)),
                Unit.level.in_(levels),
                Unit.is_active.is_(True),
            )
            .order_by(Unit.parent_id, Unit.sort_order, Unit.id)
        )
    )
    ids = [u.id for u in units]
    visit_day = func.coalesce(Visit.actual_start, Visit.planned_start)
    counts = {
        uid: (n, last)
        for uid, n, last in db.session.execute(
            select(VisitTarget.unit_id, func.count(func.distinct(Visit.id)), func.max(visit_day))
            .join(Visit, Visit.id == VisitTarget.visit_id)
            .where(
                VisitTarget.unit_id.in_(ids), Visit.status == "done", visit_day >= since, visit_day <= today
            )
            .group_by(VisitTarget.unit_id)
        ).all()
    }
    leaders: dict[int, set[str]] = {}
    for uid, name in db.session.execute(
        select(VisitTarget.unit_id, User.display_name)
        .join(Visit, Visit.id == VisitTarget.visit_id)
        .join(VisitLeader, VisitLeader.visit_id == Visit.id)
        .join(User, User.id == VisitLeader.user_id)
        .where(VisitTarget.unit_id.in_(ids), Visit.status == "done", visit_day >= since, visit_day <= today)
    ).all():
        leaders.setdefault(uid, set()).add(name)
    paired: dict[int, list[str]] = {}
    for uid, name in db.session.execute(
        select(Pairing.unit_id, User.display_name)
        .join(User, User.id == Pairing.leader_id)
        .where(Pairing.unit_id.in_(ids))
    ).all():
        paired.setdefault(uid, []).append(name)
    rows = [
        CoverageRow(
            u,
            counts.get(u.id, (0, None))[0],
            counts.get(u.id, (0, None))[1],
            sorted(leaders.get(u.id, ())),
            paired.get(u.id, []),
        )
        for u in units
    ]
    return rows, [r.unit for r in rows if r.visits == 0]
