"""API: visits (督导走访), their findings, and the rectifications they start (issue 4).

A finding's rectification is an assignment whose task has kind 'rectification';
reporting and verifying it go through the ordinary assignment services."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.api import bp
from app.api.util import BadRequest, body, commit_or_error, date_field, error, int_field, int_list, text_field
from app.api.views import _assignment_json
from app.extensions import db
from app.org.models import Unit, User
from app.tasks import services as task_services
from app.tasks.models import Assignment
from app.tasks.queries import light
from app.timeutil import local_today, utcnow
from app.visits import services
from app.visits.models import Finding, Visit, VisitKind
from app.visits.queries import coverage

MONTHS_DEFAULT, MONTHS_MAX = 6, 60


def _me():
    return current_user._get_current_object()


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _visible_unit(unit_id: int, label: str) -> Unit:
    """A unit the caller can see; otherwise 404 (its existence is not revealed)."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not authz.sees(current_user, unit):
        raise BadRequest(f"{label} {unit_id} 不存在，或不在您的管辖范围内。", 404)
    return unit


def _kind(data: dict) -> VisitKind:
    """`kind`: a visit kind's name (e.g. 蹲点指导) or its id."""
    raw = data.get("kind")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise BadRequest("缺少字段 kind（走访类型名称，如“蹲点指导”，或其 id）。")
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BadRequest("字段 kind 须为走访类型名称或其整数 id。")
    if isinstance(raw, int):
        kind = db.session.get(VisitKind, raw)
    else:
        kind = db.session.scalar(select(VisitKind).where(VisitKind.name == raw.strip()))
    if kind is not None and not kind.is_active:
        raise BadRequest(f"走访类型“{kind.name}”已停用，请选择其他类型。")
    if kind is None:
        names = db.session.scalars(
            select(VisitKind.name).where(VisitKind.is_active.is_(True)).order_by(VisitKind.sort_order)
        )
        raise BadRequest(f"未知的走访类型“{raw}”。可选：{'、'.join(names)}。")
    return kind


def _leaders(ids: list[int]) -> list[User]:
    """Leaders from the caller's unit, the units below it, or the units above it."""
    out = []
    above = authz.ancestor_ids(current_user)
    for uid in ids:
        user = db.session.get(User, uid)
        if user is None or not (authz.sees(current_user, user) or user.unit_id in above):
            raise BadRequest(f"带队领导 {uid} 不存在，或不在您的单位及上级、下级单位。", 404)
        out.append(user)
    return out


def _visit_json(v: Visit, today: date) -> dict:
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
        "planned_start": _iso(v.planned_start),
        "planned_end": _iso(v.planned_end),
        "actual_start": _iso(v.actual_start),
        "actual_end": _iso(v.actual_end),
        "leader_ids": sorted(x.user_id for x in v.leaders),
        "target_unit_ids": sorted(t.unit_id for t in v.targets),
        "team": v.team,
        "topics": v.topics,
        "summary": v.summary,
        "suggestions": v.suggestions,
        "solved_on_spot": v.solved_on_spot,
        "findings": [_finding_json(f, rect.get(f.task_id), today) for f in findings],
    }


def _finding_json(f: Finding, a: Assignment | None, today: date) -> dict:
    return {
        "id": f.id,
        "unit_id": f.unit_id,
        "description": f.description,
        "rectification_id": a.id if a else None,
        "status": a.status if a else None,
        "deadline": _iso(a.deadline) if a else None,
        "overdue": bool(a) and light(a, today) == "overdue",
    }


@bp.route("/visits", methods=["POST"])
@login_required
def visit_create():
    """Plan a visit; with a summary and a start date not in the future, also record it as done."""
    data = body()
    kind = _kind(data)
    organizer = authz.get_scoped_or_404(Unit, int_field(data, "organizer_unit_id"), "unit.view", current_user)
    if "target_unit_ids" not in data:
        raise BadRequest("缺少字段 target_unit_ids（走访对象单位 id 数组）。")
    if "leader_ids" not in data:
        raise BadRequest("缺少字段 leader_ids（带队领导的用户 id 数组）。")
    targets = [_visible_unit(uid, "单位") for uid in int_list(data, "target_unit_ids")]
    leaders = _leaders(int_list(data, "leader_ids"))
    start, end = date_field(data, "start"), date_field(data, "end")
    summary = text_field(data, "summary", required=False)
    title = (
        text_field(data, "title", required=False)
        or (f"{kind.name}：" + "、".join(dict.fromkeys(u.name for u in targets)))[:200]
    )
    extra = {
        k: text_field(data, k, required=False) for k in ("topics", "team", "suggestions", "solved_on_spot")
    }

    def create():
        now = utcnow()
        visit = services.create_visit(
            _me(),
            kind=kind,
            organizer=organizer,
            title=title,
            planned_start=start,
            planned_end=end,
            leaders=leaders,
            targets=targets,
            team=extra["team"],
            topics=extra["topics"],
            summary=summary,
            now=now,
        )
        if summary and start <= local_today():
            services.record_visit(
                _me(),
                visit,
                actual_start=start,
                actual_end=end,
                summary=summary,
                suggestions=extra["suggestions"],
                solved_on_spot=extra["solved_on_spot"],
                topics=None,
                team=None,
                files=[],
                expected_version=None,
                now=now,
            )
        return visit

    visit, err = commit_or_error(create)
    return err or (jsonify({"id": visit.id, "status": visit.status}), 201)


@bp.route("/visits/<int:visit_id>")
@login_required
def visit_detail(visit_id: int):
    visit = authz.get_scoped_or_404(Visit, visit_id, "visit.view", current_user)
    return jsonify(_visit_json(visit, local_today()))


@bp.route("/visits/<int:visit_id>/findings", methods=["POST"])
@login_required
def visit_finding_create(visit_id: int):
    """发现问题: a finding on one of the visited units, and its rectification."""
    data = body()
    visit = authz.get_scoped_or_404(Visit, visit_id, "visit.view", current_user)
    unit = _visible_unit(int_field(data, "unit_id"), "单位")
    description = text_field(data, "description")
    deadline = date_field(data, "deadline")
    verifier_id = int_field(data, "verifier_id", required=False)
    verifier = None
    if verifier_id is not None:
        verifier = db.session.get(User, verifier_id)
        if verifier is None or verifier_id not in {x.user_id for x in visit.leaders}:
            raise BadRequest("核验人须为本次走访的带队领导。")

    def add():
        finding = services.add_finding(
            _me(),
            visit,
            unit=unit,
            description=description,
            deadline=deadline,
            verifier=verifier,
            now=utcnow(),
        )
        return finding, services.rectification_of(finding)

    result, err = commit_or_error(add)
    if err:
        return err
    finding, assignment = result
    return jsonify({"id": finding.id, "rectification_id": assignment.id}), 201


def _rectification(assignment_id: int) -> Assignment:
    """A rectification the caller can see; any other assignment is 404 here."""
    a = authz.get_scoped_or_404(Assignment, assignment_id, "assignment.view", current_user)
    if a.task.kind != "rectification":
        raise BadRequest(f"整改事项 {assignment_id} 不存在（该事项不是督导发现问题的整改事项）。", 404)
    return a


@bp.route("/rectifications/<int:assignment_id>/report", methods=["POST"])
@login_required
def rectification_report(assignment_id: int):
    """整改反馈: the unit reports the problem fixed (text and evidence) for verification."""
    a = _rectification(assignment_id)
    report, err = commit_or_error(
        lambda: task_services.add_report(
            _me(),
            a,
            text=request.form.get("text", ""),
            percent=None,
            files=request.files.getlist("files"),
            submit=True,
            now=utcnow(),
        )
    )
    if err:
        return err
    return jsonify({"report_id": report.id, "assignment": _assignment_json(a, local_today())}), 201


@bp.route("/rectifications/<int:assignment_id>/verify", methods=["POST"])
@login_required
def rectification_verify(assignment_id: int):
    """核验销号 (close) or 退回 (return, with a reason), by the verifier or a leader above."""
    data = body()
    a = _rectification(assignment_id)
    decision = text_field(data, "decision")
    if decision not in ("close", "return"):
        raise BadRequest("decision 只能是 close（核验销号）或 return（退回整改）。")
    if a.status == "submitted" and not authz.can(current_user, "assignment.review", a):
        return error("只有该整改事项的核验人，或组织走访单位的上级院领导，才能核验销号或退回。", 403)
    _, err = commit_or_error(
        lambda: task_services.review(
            _me(),
            a,
            decision="approve" if decision == "close" else "return",
            comment=text_field(data, "comment", False),
            now=utcnow(),
        )
    )
    return err or jsonify(_assignment_json(a, local_today()))


def _months() -> int:
    raw = request.args.get("months", "")
    if raw == "":
        return MONTHS_DEFAULT
    if not raw.isdigit() or not 1 <= int(raw) <= MONTHS_MAX:
        raise BadRequest(f"参数 months 须为 1 到 {MONTHS_MAX} 之间的整数。")
    return int(raw)


@bp.route("/visits/coverage")
@login_required
def visit_coverage():
    """走访覆盖: base courts and tribunals under `unit`, visited or not in the last N months."""
    raw = request.args.get("unit", "")
    if raw and not raw.isdigit():
        raise BadRequest("参数 unit 须为整数。")
    months = _months()
    root = authz.get_scoped_or_404(
        Unit, int(raw) if raw else current_user.unit_id, "visit.coverage", current_user
    )
    rows, unvisited = coverage(current_user, root, months=months, today=local_today())
    return jsonify(
        {
            "unit_id": root.id,
            "months": months,
            "units": [
                {
                    "unit_id": r.unit.id,
                    "name": r.unit.name,
                    "level": r.unit.level,
                    "visits": r.visits,
                    "last_visit": _iso(r.last_visit),
                    "leaders": r.leaders,
                    "paired": r.paired,
                }
                for r in rows
            ],
            "unvisited": [u.id for u in unvisited],
        }
    )
