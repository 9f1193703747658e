"""API: visits (督导走访), their findings, and the rectifications they start (issue 4).

A finding's rectification is an assignment whose task has kind 'rectification';
reporting and verifying it go through the ordinary assignment services."""

from __future__ import annotations

from datetime import date

from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.api import bp
from app.api.core import ApiError, loads, me, run, scoped, version_for
from app.api.inputs import CoverageQuery, EmptyQuery, FindingIn, RectificationForm, VerifyIn, VisitIn
from app.api.outputs import (
    AssignmentSchema,
    CoverageOut,
    FindingCreatedOut,
    ReportOut,
    VisitCreatedOut,
    VisitOut,
)
from app.api.tasks_api import assignment_out
from app.extensions import db
from app.org.models import Unit, User
from app.tasks import services as task_services
from app.tasks.models import Assignment
from app.tasks.queries import light
from app.timeutil import local_today, utcnow
from app.visits import services
from app.visits.models import Finding, Visit, VisitKind
from app.visits.queries import coverage


def _visible_unit(unit_id: int, label: str) -> Unit:
    """A unit the caller can see; otherwise 404 (its existence is not revealed)."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not authz.sees(current_user, unit):
        raise ApiError(f"{label} {unit_id} 不存在，或不在您的管辖范围内。", 404)
    return unit


def _kind(raw: int | str) -> VisitKind:
    """`kind`: a visit kind's name (e.g. 蹲点指导) or its id."""
    if isinstance(raw, int):
        kind = db.session.get(VisitKind, raw)
    else:
        kind = db.session.scalar(select(VisitKind).where(VisitKind.name == raw))
    if kind is not None and not kind.is_active:
        raise ApiError(f"走访类型“{kind.name}”已停用，请选择其他类型。")
    if kind is None:
        names = db.session.scalars(
            select(VisitKind.name).where(VisitKind.is_active.is_(True)).order_by(VisitKind.sort_order)
        )
        raise ApiError(f"未知的走访类型“{raw}”。可选：{'、'.join(names)}。")
    return kind


def _leaders(ids: list[int]) -> list[User]:
    """Leaders from the caller's unit, the units below it, or the units above it."""
    out = []
    above = authz.ancestor_ids(current_user)
    for uid in ids:
        user = db.session.get(User, uid)
        if user is None or not (authz.sees(current_user, user) or user.unit_id in above):
            raise ApiError(f"带队领导 {uid} 不存在，或不在您的单位及上级、下级单位。", 404)
        out.append(user)
    return out


def _visit_out(v: Visit, today: date) -> dict:
    findings = list(db.session.scalars(select(Finding).where(Finding.visit_id == v.id).order_by(Finding.id)))
    rect = {
        a.task_id: a
        for a in db.session.scalars(
            select(Assignment).where(Assignment.task_id.in_([f.task_id for f in findings]))
        )
    }
    return {
        "id": v.id,
        "kind": v.kind.name,
        "kind_id": v.kind_id,
        "title": v.title,
        "organizer_unit_id": v.organizer_unit_id,
        "status": v.status,
        "planned_start": v.planned_start,
        "planned_end": v.planned_end,
        "actual_start": v.actual_start,
        "actual_end": v.actual_end,
        "leader_ids": sorted(x.user_id for x in v.leaders),
        "target_unit_ids": sorted(t.unit_id for t in v.targets),
        "team": v.team,
        "topics": v.topics,
        "summary": v.summary,
        "suggestions": v.suggestions,
        "solved_on_spot": v.solved_on_spot,
        "version": v.version,
        "findings": [_finding_out(f, rect.get(f.task_id), today) for f in findings],
    }


def _finding_out(f: Finding, a: Assignment | None, today: date) -> dict:
    return {
        "id": f.id,
        "unit_id": f.unit_id,
        "description": f.description,
        "rectification_id": a.id if a else None,
        "status": a.status if a else None,
        "deadline": a.deadline if a else None,
        "overdue": bool(a) and light(a, today) == "overdue",
    }


@bp.route("/visits", methods=["POST"])
@login_required
@bp.doc(summary="安排督导走访；给出 summary 且开始日期不晚于今天时同时记录为已完成（实际日期＝计划日期）")
@bp.arguments(VisitIn)
@bp.response(201, VisitCreatedOut)
@bp.errors(400, 401, 403, 404)
def visit_create(args: dict):
    """Plan a visit; with a summary and a start date not in the future, also record it as done."""
    kind = _kind(args["kind"])
    organizer = authz.get_scoped_or_404(Unit, args["organizer_unit_id"], "unit.view", current_user)
    targets = [_visible_unit(uid, "单位") for uid in args["target_unit_ids"]]
    leaders = _leaders(args["leader_ids"])
    start, end, summary = args["start"], args["end"], args.get("summary")
    title = args.get("title") or (f"{kind.name}：" + "、".join(dict.fromkeys(u.name for u in targets)))[:200]

    def create():
        now = utcnow()
        visit = services.create_visit(
            me(),
            kind=kind,
            organizer=organizer,
            title=title,
            planned_start=start,
            planned_end=end,
            leaders=leaders,
            targets=targets,
            team=args.get("team"),
            topics=args.get("topics"),
            summary=summary,
            now=now,
        )
        if summary and summary.strip() and start <= local_today():
            services.record_visit(
                me(),
                visit,
                actual_start=start,
                actual_end=end,
                summary=summary,
                suggestions=args.get("suggestions"),
                solved_on_spot=args.get("solved_on_spot"),
                topics=None,
                team=None,
                files=[],
                expected_version=visit.version,  # the visit this request has just made
                now=now,
            )
        return visit

    return run(create)


@bp.route("/visits/<int:visit_id>")
@login_required
@loads(scoped(Visit, "visit.view"), "visit")
@bp.doc(summary="单次走访及其发现的问题")
@bp.arguments(EmptyQuery, location="query")
@bp.response(200, VisitOut)
@bp.errors(400, 401, 403, 404)
def visit_detail(_args: dict, visit: Visit):
    return _visit_out(visit, local_today())


@bp.route("/visits/<int:visit_id>/findings", methods=["POST"])
@login_required
@loads(scoped(Visit, "visit.view"), "visit")
@bp.doc(summary="登记发现的问题，生成交给被走访单位的整改事项（由带队领导核验）")
@bp.arguments(FindingIn)
@bp.response(201, FindingCreatedOut)
@bp.errors(400, 401, 403, 404)
def visit_finding_create(args: dict, visit: Visit):
    """发现问题: a finding on one of the visited units, and its rectification. Adding one
    changes nothing already stored about the visit, so it needs no version."""
    unit = _visible_unit(args["unit_id"], "单位")
    verifier_id = args.get("verifier_id")
    verifier = None
    if verifier_id is not None:
        verifier = db.session.get(User, verifier_id)
        if verifier is None or verifier_id not in {x.user_id for x in visit.leaders}:
            raise ApiError("核验人须为本次走访的带队领导。")

    def add():
        finding = services.add_finding(
            me(),
            visit,
            unit=unit,
            description=args["description"],
            deadline=args["deadline"],
            verifier=verifier,
            now=utcnow(),
        )
        return {"id": finding.id, "rectification_id": services.rectification_of(finding).id}

    return run(add)


def _rectification(assignment_id: int) -> Assignment:
    """A rectification the caller can see; any other assignment is 404 here."""
    a = authz.get_scoped_or_404(Assignment, assignment_id, "assignment.view", current_user)
    if a.task.kind != "rectification":
        raise ApiError(f"整改事项 {assignment_id} 不存在（该事项不是督导发现问题的整改事项）。", 404)
    return a


@bp.route("/rectifications/<int:assignment_id>/report", methods=["POST"])
@login_required
@loads(_rectification, "a")
@bp.doc(summary="整改反馈并提交核验（可附佐证材料）；id 为整改事项的承办事项 id")
@bp.arguments(RectificationForm, location="multipart")
@bp.response(201, ReportOut)
@bp.errors(400, 401, 403, 404, 413, conflict=True)
def rectification_report(args: dict, a: Assignment):
    """整改反馈: the unit reports the problem fixed (text and evidence) for verification."""

    version = version_for(a, args.get("version"), "assignment.submit")
    report = run(
        lambda: task_services.add_report(
            me(),
            a,
            text=args["text"],
            percent=None,
            files=args.get("files", []),
            submit=True,
            expected_version=version,
            now=utcnow(),
        ),
        locked=a,
    )
    return {"report_id": report.id, "assignment": assignment_out(a)}


@bp.route("/rectifications/<int:assignment_id>/verify", methods=["POST"])
@login_required
@loads(_rectification, "a")
@bp.doc(summary="核验：销号（close）或退回整改（return，须写理由）；核验人或其上级院领导")
@bp.arguments(VerifyIn)
@bp.response(200, AssignmentSchema)
@bp.errors(400, 401, 403, 404, conflict=True)
def rectification_verify(args: dict, a: Assignment):
    """核验销号 (close) or 退回 (return, with a reason), by the verifier or a leader above."""
    if a.status == "submitted" and not authz.can(current_user, "assignment.review", a):
        raise ApiError("只有该整改事项的核验人，或组织走访单位的上级院领导，才能核验销号或退回。", 403)

    version = version_for(a, args.get("version"), "assignment.review")
    decision = "approve" if args["decision"] == "close" else "return"
    run(
        lambda: task_services.review(
            me(), a, decision=decision, comment=args.get("comment"), expected_version=version, now=utcnow()
        ),
        locked=a,
    )
    return assignment_out(a)


@bp.route("/visits/coverage")
@login_required
@bp.doc(summary="走访覆盖：单位下的基层法院和人民法庭近 N 个月的走访次数、最近一次、带队领导、未走访单位")
@bp.arguments(CoverageQuery, location="query")
@bp.response(200, CoverageOut)
@bp.errors(400, 401, 403, 404)
def visit_coverage(args: dict):
    """走访覆盖: base courts and tribunals under `unit`, visited or not in the last N months."""
    months = args["months"]
    root = authz.get_scoped_or_404(
        Unit, args.get("unit") or current_user.unit_id, "visit.coverage", current_user
    )
    rows, unvisited = coverage(current_user, root, months=months, today=local_today())
    return {
        "unit_id": root.id,
        "months": months,
        "units": [
            {
                "unit_id": r.unit.id,
                "name": r.unit.name,
                "level": r.unit.level,
                "visits": r.visits,
                "last_visit": r.last_visit,
                "leaders": r.leaders,
                "paired": r.paired,
            }
            for r in rows
        ],
        "unvisited": [u.id for u in unvisited],
    }
