"""Reads on checklists: compliance (weighted, verified items only), roll-ups, the matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from app import authz
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate
from app.extensions import db
from app.org.models import Unit, UnitClosure

VERIFIED_WEIGHT = func.sum(case((ChecklistEntry.status == "verified", ChecklistEntry.weight), else_=0))
TOTAL_WEIGHT = func.sum(ChecklistEntry.weight)


def compliance_by_checklist(ids: list[int]) -> dict[int, float]:
    """{checklist id: verified weight ÷ total weight}, one grouped query."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(ChecklistEntry.checklist_id, VERIFIED_WEIGHT, TOTAL_WEIGHT)
        .where(ChecklistEntry.checklist_id.in_(ids))
        .group_by(ChecklistEntry.checklist_id)
    ).all()
    return {cid: round(v / t, 4) if t else 0.0 for cid, v, t in rows}


def checklists_query(
    user: Any, *, unit_id: int | None = None, family: str | None = None, current_only: bool = True
):
    stmt = authz.scope(select(Checklist), Checklist, user)
    if unit_id:
        stmt = stmt.where(Checklist.unit_id.in_(authz.scope_unit_ids_of(unit_id)))
    if family:
        stmt = stmt.where(Checklist.family == family)
    if current_only:
        stmt = stmt.where(Checklist.is_current.is_(True))
    return stmt.order_by(Checklist.unit_id, Checklist.id)


@dataclass
class RollupRow:
    unit: Unit
    checklists: int
    compliance: float | None


def rollup(user: Any, root: Unit, family: str | None = None) -> list[RollupRow]:
    """Compliance per unit directly below `root` (and root itself), each over its
    subtree: total verified weight ÷ total weight of current checklists. One query."""
    children = list(
        db.session.scalars(
            authz.scope(select(Unit), Unit, user)
            .where(Unit.parent_id == root.id)
            .order_by(Unit.sort_order, Unit.id)
        )
    )
    groups = [root.id] + [c.id for c in children]
    holder = case((Checklist.unit_id == root.id, root.id), else_=UnitClosure.ancestor_id)
    stmt = (
        select(holder, func.count(func.distinct(Checklist.id)), VERIFIED_WEIGHT, TOTAL_WEIGHT)
        .select_from(ChecklistEntry)
        .join(Checklist, Checklist.id == ChecklistEntry.checklist_id)
        .join(UnitClosure, UnitClosure.descendant_id == Checklist.unit_id)
        .where(UnitClosure.ancestor_id.in_(groups), Checklist.is_current.is_(True))
        .where((UnitClosure.ancestor_id != root.id) | (Checklist.unit_id == root.id))
    )
    stmt = authz.scope(stmt, Checklist, user)
    if family:
        stmt = stmt.where(Checklist.family == family)
    data = {h: (n, v, t) for h, n, v, t in db.session.execute(stmt.group_by(holder)).all()}
    out = []
    for unit in [root, *children]:
        n, v, t = data.get(unit.id, (0, 0, 0))
        if unit.id == root.id and not n:
            continue
        out.append(RollupRow(unit=unit, checklists=n, compliance=round(v / t, 4) if t else None))
    return out


@dataclass
class Matrix:
    template: ChecklistTemplate | None
    columns: list[tuple[str, str, str]]  # (code, title, section)
    rows: list[tuple[Unit, Checklist, dict[str, ChecklistEntry], float]]


def matrix(user: Any, family: str, *, root_id: int | None = None, section: str | None = None) -> Matrix:
    """对标对表: units × items of one standard, each cell the entry's status."""
    checklists = list(db.session.scalars(checklists_query(user, unit_id=root_id, family=family)))
    if not checklists:
        return Matrix(None, [], [])
    latest = max(checklists, key=lambda c: c.template.version).template
    entries = select(ChecklistEntry).where(ChecklistEntry.checklist_id.in_([c.id for c in checklists]))
    if section:
        entries = entries.where(ChecklistEntry.section == section)
    by_checklist: dict[int, dict[str, ChecklistEntry]] = {c.id: {} for c in checklists}
    columns: dict[str, tuple[str, str, str]] = {}
    for e in db.session.scalars(entries.order_by(ChecklistEntry.sort_order)):
        by_checklist[e.checklist_id][e.code] = e
        columns.setdefault(e.code, (e.code, e.title, e.section))
    compliance = compliance_by_checklist([c.id for c in checklists])
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_([c.unit_id for c in checklists])))
    }
    rows = [(units[c.unit_id], c, by_checklist[c.id], compliance.get(c.id, 0.0)) for c in checklists]
    return Matrix(latest, list(columns.values()), rows)


def families(user: Any) -> list[ChecklistTemplate]:
    """The newest published version of each standard."""
    newest = (
        select(ChecklistTemplate.family, func.max(ChecklistTemplate.version).label("v"))
        .where(ChecklistTemplate.status == "published")
        .group_by(ChecklistTemplate.family)
        .subquery()
    )
    stmt = select(ChecklistTemplate).join(
        newest, (newest.c.family == ChecklistTemplate.family) & (newest.c.v == ChecklistTemplate.version)
    )
    return list(db.session.scalars(stmt.order_by(ChecklistTemplate.family)))
