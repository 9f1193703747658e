"""API: units, projects, task items and their assignments (the completion lists and
the task import: completion_api, imports_api). The same services and policy as the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import authz
from app.api import bp
from app.api.core import ApiError, loads, me, run, scoped, version_for
from app.api.inputs import (
    AssignmentsQuery,
    EmptyQuery,
    ExtensionIn,
    ProgressForm,
    ProjectIn,
    ReviewIn,
    TaskIn,
    UnitsQuery,
    VersionIn,
)
from app.api.outputs import (
    AssignmentPageOut,
    AssignmentSchema,
    CreatedOut,
    ExtensionOut,
    ReportOut,
    TaskCreatedOut,
    UnitSchema,
)
from app.extensions import db
from app.org.models import Unit, UnitClosure
from app.org.queries import _load_names
from app.tasks import services
from app.tasks.models import Assignment, Project
from app.tasks.parsing import DeadlineError, parse_deadline
from app.tasks.queries import AssignmentFilters, assignments_query, light
from app.timeutil import local_today, utcnow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- units


@bp.route("/units")
@login_required
@bp.doc(summary="单位及其全部下级")
@bp.arguments(UnitsQuery, location="query")
@bp.response(200, UnitSchema(many=True))
@bp.errors(400, 401, 403, 404)
def units(args: dict):
    under = args.get("under")
    root = authz.get_scoped_or_404(Unit, under, "unit.view", current_user) if under else current_user.unit
    stmt = authz.scope(select(Unit), Unit, current_user).where(
        Unit.id.in_(select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == root.id))
    )
    rows = list(db.session.scalars(stmt.order_by(Unit.id)))
    _load_names(rows)
    return rows


@bp.route("/units/<int:unit_id>")
@login_required
@loads(scoped(Unit, "unit.view"), "unit")
@bp.doc(summary="单个单位")
@bp.arguments(EmptyQuery, location="query")
@bp.response(200, UnitSchema)
@bp.errors(400, 401, 403, 404)
def unit_detail(_args: dict, unit: Unit):
    return unit


# ---------------------------------------------------------------- projects and task items


@bp.route("/projects", methods=["POST"])
@login_required
@bp.doc(summary="新建项目")
@bp.arguments(ProjectIn)
@bp.response(201, CreatedOut)
@bp.errors(400, 401, 403, 404)
def project_create(args: dict):
    authz.require(current_user, "project.create")
    owner = authz.get_scoped_or_404(Unit, args["owner_unit_id"], "unit.view", current_user)
    project = run(
        lambda: services.create_project(
            me(),
            name=args["name"],
            owner_unit=owner,
            start=args["start"],
            end=args["end"],
            description=args.get("description"),
            now=utcnow(),
        )
    )
    return {"id": project.id, "version": project.version}


def _deadline_args(raw: str, project: Project) -> dict:
    try:
        parsed = parse_deadline(raw, project.start.year)
    except DeadlineError as exc:
        raise ApiError(f"字段 deadline：{exc}。") from None
    return {
        "deadline_kind": parsed.kind,
        "deadline": parsed.due,
        "recurrence": parsed.recurrence,
        "report_every": parsed.report_every,
    }


@bp.route("/tasks", methods=["POST"])
@login_required
@bp.doc(summary="新建清单事项并交办")
@bp.arguments(TaskIn)
@bp.response(201, TaskCreatedOut)
@bp.errors(400, 401, 403, 404)
def task_create(args: dict):
    project = authz.get_scoped_or_404(Project, args["project_id"], "project.add_task", current_user)
    kwargs = _deadline_args(args["deadline"], project)
    units = [
        authz.get_scoped_or_404(Unit, uid, "unit.view", current_user) for uid in args.get("unit_ids", [])
    ]

    def create():
        task = services.create_task(
            me(),
            project,
            title=args["title"],
            requirements=args.get("requirements"),
            lead_leader=args.get("lead_leader"),
            now=utcnow(),
            **kwargs,
        )
        if not units:
            return task, []
        return task, services.assign_task(me(), task, units, expected_version=task.version, now=utcnow())

    task, created = run(create)
    return {"id": task.id, "version": task.version, "assignments": created}


# ---------------------------------------------------------------- assignments


def assignment_out(a: Assignment, today: date | None = None) -> dict[str, Any]:
    """An assignment as AssignmentSchema dumps it (the lights derived for `today`)."""
    state = light(a, today or local_today())
    return {
        "id": a.id,
        "task_id": a.task_id,
        "title": a.task.title,
        "unit_id": a.unit_id,
        "status": a.status,
        "deadline": a.deadline,
        "original_deadline": a.original_deadline,
        "period": a.period_label or None,
        "progress": a.progress,
        "overdue": state == "overdue",
        "due_soon": state == "due_soon",
        "version": a.version,
    }


@bp.route("/assignments")
@login_required
@bp.doc(summary="承办事项列表（按权限范围过滤）")
@bp.arguments(AssignmentsQuery, location="query")
@bp.response(200, AssignmentPageOut)
@bp.errors(400, 401, 403, 404)
def assignment_list(args: dict):
    if args.get("unit"):
        authz.get_scoped_or_404(Unit, args["unit"], "unit.view", current_user)
    page, per_page = args["page"], args["per_page"]
    f = AssignmentFilters(
        project_id=args.get("project"),
        unit_id=args.get("unit"),
        status=args.get("status", ""),
        deadline_from=args.get("date_from"),
        deadline_to=args.get("date_to"),
    )
    today = local_today()
    stmt = assignments_query(current_user, f, today)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    return {
        "items": [assignment_out(a, today) for a in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
    }


_assignment = scoped(Assignment, "assignment.view")


@bp.route("/assignments/<int:assignment_id>/acknowledge", methods=["POST"])
@login_required
@loads(_assignment, "a")
@bp.doc(summary="签收")
@bp.arguments(VersionIn, required=False)
@bp.response(200, AssignmentSchema)
@bp.errors(400, 401, 403, 404, conflict=True)
def assignment_acknowledge(args: dict, a: Assignment):
    version = version_for(a, args.get("version"), "assignment.acknowledge")
    run(lambda: services.acknowledge(me(), a, expected_version=version, now=utcnow()), locked=a)
    return assignment_out(a)


@bp.route("/assignments/<int:assignment_id>/progress", methods=["POST"])
@login_required
@loads(_assignment, "a")
@bp.doc(summary="进度反馈（可附佐证材料；submit=true 同时提交审核）")
@bp.arguments(ProgressForm, location="multipart")
@bp.response(201, ReportOut)
@bp.errors(400, 401, 403, 404, 413, conflict=True)
def assignment_progress(args: dict, a: Assignment):
    submit = args["submit"]
    version = version_for(a, args.get("version"), "assignment.submit" if submit else "assignment.report")
    report = run(
        lambda: services.add_report(
            me(),
            a,
            text=args["text"],
            percent=args.get("percent"),
            files=args.get("files", []),
            submit=submit,
            expected_version=version,
            now=utcnow(),
        ),
        locked=a,
    )
    return {"report_id": report.id, "assignment": assignment_out(a)}


@bp.route("/assignments/<int:assignment_id>/review", methods=["POST"])
@login_required
@loads(_assignment, "a")
@bp.doc(summary="审核：办结（approve）或退回（return，须写理由）")
@bp.arguments(ReviewIn)
@bp.response(200, AssignmentSchema)
@bp.errors(400, 401, 403, 404, conflict=True)
def assignment_review(args: dict, a: Assignment):
    version = version_for(a, args.get("version"), "assignment.review")
    run(
        lambda: services.review(
            me(),
            a,
            decision=args["decision"],
            comment=args.get("comment"),
            expected_version=version,
            now=utcnow(),
        ),
        locked=a,
    )
    return assignment_out(a)


@bp.route("/assignments/<int:assignment_id>/extension", methods=["POST"])
@login_required
@loads(_assignment, "a")
@bp.doc(summary="延期申请")
@bp.arguments(ExtensionIn)
@bp.response(201, ExtensionOut)
@bp.errors(400, 401, 403, 404, conflict=True)
def assignment_extension(args: dict, a: Assignment):
    version = version_for(a, args.get("version"), "assignment.request_extension")
    return run(
        lambda: services.request_extension(
            me(),
            a,
            new_deadline=args["new_deadline"],
            reason=args["reason"],
            expected_version=version,
            now=utcnow(),
        ),
        locked=a,
    )
