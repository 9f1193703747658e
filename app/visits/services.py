"""Writes on visits, findings, pairings and the list of visit kinds. `actor` and `now`
passed in; journaled; the caller commits."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import attachments, authz
from app.errors import ServiceError, hold_version
from app.extensions import db
from app.journal import record, snapshot
from app.org.models import Unit, UnitClosure, User
from app.tasks.models import Assignment
from app.tasks.services import create_rectification
from app.timeutil import to_local
from app.validation import allow as _allow
from app.validation import clean_text as _text
from app.visits.models import KIND_NAME_MAX, Finding, Pairing, Visit, VisitKind, VisitLeader, VisitTarget

VISIT_FIELDS = (
    "kind_id",
    "organizer_unit_id",
    "title",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "team",
    "topics",
    "summary",
    "suggestions",
    "solved_on_spot",
    "status",
)


def _snapshot(visit: Visit) -> dict:
    data = snapshot(visit, VISIT_FIELDS)
    data["leaders"] = sorted(v.user_id for v in visit.leaders)
    data["targets"] = sorted(t.unit_id for t in visit.targets)
    return data


def _check_people_and_places(actor: User, organizer: Unit, leaders: list[User], targets: list[Unit]) -> None:
    if not leaders:
        raise ServiceError("请选择至少一名带队领导。")
    above_organizer = set(
        db.session.scalars(select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == organizer.id))
    )
    for leader in leaders:
        if not leader.is_active or not leader.has_role("leader"):
            raise ServiceError(f"“{leader.display_name}”不是院领导，不能作为带队领导。")
        if leader.unit_id not in above_organizer:
            raise ServiceError(f"“{leader.display_name}”不是组织单位“{organizer.name}”或其上级单位的领导。")
    if not targets:
        raise ServiceError("请选择至少一个走访对象单位。")
    below = set(db.session.scalars(select(Unit.id).where(Unit.id.in_(authz.scope_unit_ids_of(organizer.id)))))
    for unit in targets:
        if unit.id not in below or unit.id == organizer.id:
            raise ServiceError(f"“{unit.name}”不在组织单位“{organizer.name}”的下级范围内，不能走访。")
        if not unit.is_active:
            raise ServiceError(f"“{unit.name}”已停用，不能走访。")


def _dates(start: date | None, end: date | None, what: str) -> None:
    if start is None or end is None:
        raise ServiceError(f"请填写{what}的起止日期。")
    if end < start:
        raise ServiceError(f"{what}的结束日期不能早于开始日期。")


def create_visit(
    actor: User,
    *,
    kind: VisitKind,
    organizer: Unit,
    title: str,
    planned_start: date | None,
    planned_end: date | None,
    leaders: list[User],
    targets: list[Unit],
    team: str | None = None,
    topics: str | None = None,
    summary: str | None = None,
    now: datetime,
) -> Visit:
    """Plan a visit: organiser, leaders, targets in the organiser's subtree, dates."""
    _allow(actor, "visit.create", organizer, "您无权以该单位名义安排督导走访。")
    if kind is None or not kind.is_active:
        raise ServiceError("请选择走访类型。")
    _dates(planned_start, planned_end, "计划")
    leaders, targets = list(dict.fromkeys(leaders)), list(dict.fromkeys(targets))
    _check_people_and_places(actor, organizer, leaders, targets)
    visit = Visit(
        kind_id=kind.id,
        organizer_unit_id=organizer.id,
        title=_text(title, "走访主题", 200, True),
        planned_start=planned_start,
        planned_end=planned_end,
        team=_text(team, "组员", 500, False),
        topics=_text(topics, "调研内容", 5000, False),
        summary=_text(summary, "走访情况", 10000, False),
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    visit.leaders = [VisitLeader(user_id=u.id) for u in sorted(leaders, key=lambda x: x.id)]
    visit.targets = [VisitTarget(unit_id=u.id) for u in targets]
    db.session.add(visit)
    db.session.flush()
    record(actor, "visit.create", visit, None, _snapshot(visit), unit_id=organizer.id, now=now)
    return visit


def record_visit(
    actor: User,
    visit: Visit,
    *,
    actual_start: date | None,
    actual_end: date | None,
    summary: str | None,
    suggestions: str | None,
    solved_on_spot: str | None,
    topics: str | None,
    team: str | None,
    files: list,
    expected_version: Any,
    now: datetime,
) -> Visit:
    """记录走访情况: actual dates (a 蹲点 spans days), summary, suggestions, problems
    solved on the spot, photos and documents. Planned → done."""
    hold_version(visit, expected_version, now)
    _allow(actor, "visit.edit", visit, "您无权记录该次走访。")
    _dates(actual_start, actual_end, "实际走访")
    if actual_end > to_local(now).date():
        raise ServiceError("实际走访日期不能晚于今天；尚未进行的走访请保持“计划中”。")
    summary = _text(summary, "走访情况", 10000, True)
    checked = attachments.check_uploads(files)
    before = _snapshot(visit)
    visit.actual_start, visit.actual_end = actual_start, actual_end
    visit.summary = summary
    visit.suggestions = _text(suggestions, "意见建议", 5000, False)
    visit.solved_on_spot = _text(solved_on_spot, "现场解决的问题", 5000, False)
    visit.topics = _text(topics, "调研内容", 5000, False) or visit.topics
    visit.team = _text(team, "组员", 500, False) or visit.team
    visit.status = "done"
    visit.updated_at = now
    attachments.store(
        checked,
        owner_type="Visit",
        owner_id=visit.id,
        unit_id=visit.organizer_unit_id,
        actor_id=actor.id,
        now=now,
    )
    db.session.flush()
    record(actor, "visit.record", visit, before, _snapshot(visit), unit_id=visit.organizer_unit_id, now=now)
    return visit


def add_finding(
    actor: User,
    visit: Visit,
    *,
    unit: Unit,
    description: str,
    deadline: date | None,
    verifier: User | None = None,
    now: datetime,
) -> Finding:
    """发现问题 → 整改事项 for the unit, verified by the visiting leader."""
    _allow(actor, "visit.add_finding", visit, "您无权为该次走访登记问题。")
    if unit.id not in {t.unit_id for t in visit.targets}:
        raise ServiceError(f"“{unit.name}”不是本次走访的对象单位，不能登记问题。")
    leader_ids = [v.user_id for v in visit.leaders]
    verifier = verifier or (db.session.get(User, actor.id) if actor.id in leader_ids else None)
    if verifier is None:
        verifier = db.session.get(User, leader_ids[0])
    if verifier.id not in leader_ids:
        raise ServiceError("核验人须为本次走访的带队领导。")
    organizer = db.session.get(Unit, visit.organizer_unit_id)
    assignment = create_rectification(
        actor,
        organizer_unit=organizer,
        verifier=verifier,
        unit=unit,
        description=description,
        deadline=deadline,
        now=now,
    )
    finding = Finding(
        visit_id=visit.id,
        unit_id=unit.id,
        description=(description or "").strip(),
        task_id=assignment.task_id,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(finding)
    db.session.flush()
    record(
        actor,
        "finding.create",
        finding,
        None,
        {"unit_id": unit.id, "description": finding.description, "deadline": deadline},
        unit_id=unit.id,
        now=now,
    )
    return finding


def rectification_of(finding: Finding) -> Assignment:
    return db.session.scalar(select(Assignment).where(Assignment.task_id == finding.task_id))


def pair(actor: User, leader: User, unit: Unit, *, now: datetime) -> Pairing:
    """联系点: pair a leader with a unit they supervise."""
    _allow(actor, "pairing.manage", unit, "您无权设置该单位的联系领导。")
    if not leader.has_role("leader") or not leader.is_active:
        raise ServiceError(f"“{leader.display_name}”不是院领导。")
    if not (authz.sees(actor, leader) or leader.unit_id in authz.ancestor_ids(actor)):
        raise ServiceError("该领导不在您的单位或上级单位。")
    # A leader supervises the units below their own court, not their own or a neighbour's.
    below = authz.scope_unit_ids_of(leader.unit_id).where(UnitClosure.descendant_id == unit.id)
    if unit.id == leader.unit_id or db.session.scalar(below) is None:
        raise ServiceError(f"“{unit.name}”不是“{leader.display_name}”所在单位的下级单位，不能设为其联系点。")
    if db.session.scalar(
        select(Pairing.id).where(Pairing.leader_id == leader.id, Pairing.unit_id == unit.id)
    ):
        raise ServiceError(f"“{leader.display_name}”已是“{unit.name}”的联系领导。")
    pairing = Pairing(leader_id=leader.id, unit_id=unit.id, created_at=now)
    db.session.add(pairing)
    db.session.flush()
    record(
        actor,
        "pairing.create",
        pairing,
        None,
        {"leader_id": leader.id, "unit_id": unit.id},
        unit_id=unit.id,
        now=now,
    )
    return pairing


def unpair(actor: User, pairing: Pairing, *, now: datetime) -> None:
    unit = db.session.get(Unit, pairing.unit_id)
    _allow(actor, "pairing.manage", unit, "您无权设置该单位的联系领导。")
    record(
        actor,
        "pairing.delete",
        pairing,
        {"leader_id": pairing.leader_id, "unit_id": pairing.unit_id},
        None,
        unit_id=pairing.unit_id,
        now=now,
    )
    db.session.delete(pairing)
    db.session.flush()


# ---------------------------------------------------------------- visit kinds


def _kind_key(name: str) -> str:
    """What makes two kind names the same: width, case and spaces aside."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def _kind_name(name: str | None, kind: VisitKind | None = None) -> str:
    """A clean, new name: required, at most 30 characters, not the name of another kind."""
    name = _text(name, "走访类型名称", KIND_NAME_MAX, True)
    key = _kind_key(name)
    for other in db.session.scalars(select(VisitKind)):
        if other is not kind and _kind_key(other.name) == key:
            retired = "" if other.is_active else "（已停用，可在列表中恢复启用）"
            raise ServiceError(f"走访类型“{other.name}”已存在{retired}，请勿重复添加。", "name")
    return name


def _save_kind(kind: VisitKind) -> None:
    """Flush; a name taken meanwhile by another administrator is refused, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ServiceError(f"走访类型“{kind.name}”已存在，请勿重复添加。", "name") from None


def add_kind(actor: User, name: str | None, *, now: datetime) -> VisitKind:
    """A new visit kind (e.g. a court's own 巡回点调组), offered for new visits at once."""
    _allow(actor, "admin.access", None, "只有系统管理员可以维护走访类型。")
    name = _kind_name(name)
    order = db.session.scalar(select(func.coalesce(func.max(VisitKind.sort_order), 0))) + 1
    kind = VisitKind(name=name, sort_order=order, is_active=True)
    db.session.add(kind)
    _save_kind(kind)
    record(actor, "visit_kind.create", kind, None, {"name": name, "is_active": True}, now=now)
    return kind


def rename_kind(actor: User, kind: VisitKind, name: str | None, *, now: datetime) -> VisitKind:
    """Rename a kind; the visits of that kind show the new name."""
    _allow(actor, "admin.access", None, "只有系统管理员可以维护走访类型。")
    name = _kind_name(name, kind)
    if name == kind.name:
        return kind
    before = {"name": kind.name}
    kind.name = name
    _save_kind(kind)
    record(actor, "visit_kind.rename", kind, before, {"name": name}, now=now)
    return kind


def set_kind_active(actor: User, kind: VisitKind, active: bool, *, now: datetime) -> VisitKind:
    """Retire a kind (the visits already of that kind keep it; it is no longer offered
    for new ones) or bring it back."""
    _allow(actor, "admin.access", None, "只有系统管理员可以维护走访类型。")
    if kind.is_active == active:
        return kind
    if not active:
        others = db.session.scalar(
            select(func.count())
            .select_from(VisitKind)
            .where(VisitKind.is_active.is_(True), VisitKind.id != kind.id)
        )
        if not others:
            raise ServiceError("至少要保留一个启用的走访类型，否则无法安排新的走访。")
    before = {"is_active": kind.is_active}
    kind.is_active = active
    db.session.flush()
    record(
        actor,
        "visit_kind.retire" if not active else "visit_kind.restore",
        kind,
        before,
        {"is_active": active},
        now=now,
    )
    return kind


def kind_usage() -> dict[int, int]:
    """{kind id: number of visits of that kind}. One query."""
    return dict(db.session.execute(select(Visit.kind_id, func.count()).group_by(Visit.kind_id)).all())
