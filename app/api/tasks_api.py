"""API: units, projects, task items and their assignments (the completion lists and
the task import: completion_api, imports_api). The same services and policy as the pages."""

from __future__ import annotations

from flask import abort, g
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import authz
from app.api import bp
from app.api.assignment_out import assignment_out, detail_out
from app.api.core import ApiError, job_accepted, loads, me, run, scoped, version_for
from app.api.inputs import (
    AssignmentDetailQuery,
    AssignmentFiltersQuery,
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
    JOB_ACCEPTED,
    AssignmentDetailOut,
    AssignmentPageOut,
    AssignmentSchema,
    CreatedOut,
    ExtensionOut,
    JobAcceptedOut,
    ReportOut,
    TaskCreatedOut,
    UnitSchema,
)
from app.extensions import db
from app.org.models import Unit, UnitClosure
from app.org.queries import _load_names
from app.tasks import detail, links, list_export, services
from app.tasks import jobs as task_jobs
from app.tasks.models import Assignment, Project, Task
from app.tasks.parsing import DeadlineError, parse_deadline
from app.tasks.queries import AssignmentFilters, assignment_ids_query, assignments_by_id, assignments_query
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


def _list_filters(args: dict) -> AssignmentFilters:
    """The list's filters, as the list and its export take them; a unit outside the
    caller's scope is 404 (as a hidden object is everywhere)."""
    if args.get("unit"):
        authz.get_scoped_or_404(Unit, args["unit"], "unit.view", current_user)
    return AssignmentFilters(
        project_id=args.get("project"),
        unit_id=args.get("unit"),
        status=args.get("status", ""),
        deadline_from=args.get("date_from"),
        deadline_to=args.get("date_to"),
    )


@bp.route("/assignments")
@login_required
@bp.doc(summary="承办事项列表（按权限范围过滤）")
@bp.arguments(AssignmentsQuery, location="query")
@bp.response(200, AssignmentPageOut)
@bp.errors(400, 401, 403, 404)
def assignment_list(args: dict):
    f = _list_filters(args)
    page, per_page = args["page"], args["per_page"]
    today = local_today()
    # The page's ids from the narrow, index-ordered query, then those rows; the total
    # stays exact for API clients (counted on the narrow query: an index-only scan).
    ids_stmt = assignment_ids_query(current_user, f, today)
    total = db.session.scalar(select(func.count()).select_from(ids_stmt.order_by(None).subquery()))
    ids = list(db.session.scalars(ids_stmt.limit(per_page).offset((page - 1) * per_page)))
    loaded = {a.id: a for a in db.session.scalars(assignments_by_id(), {"ids": ids}).unique()} if ids else {}
    rows = [loaded[i] for i in ids if i in loaded]
    return {
        "items": [assignment_out(a, today) for a in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
    }


@bp.route("/assignments.xlsx")
@login_required
@bp.doc(
    summary="承办事项列表导出 Excel（筛选条件与列表相同，列出全部符合条件的事项，不限行数）",
    description="与 GET /assignments 使用同一组筛选参数（不含分页参数），按列表顺序逐批读取、流式写入。",
)
@bp.arguments(AssignmentFiltersQuery, location="query")
@bp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX, description="XLSX 文件")
@bp.alt_response(202, schema=JobAcceptedOut, description=JOB_ACCEPTED)
@bp.errors(400, 401, 403, 404)
def assignment_list_xlsx(args: dict):
    f = _list_filters(args)
    today = local_today()
    root = db.session.get(Unit, f.unit_id) if f.unit_id else current_user.unit
    title = f"{root.name}承办事项"
    if list_export.more_than(assignment_ids_query(current_user, f, today), task_jobs.inline_limit()):
        return job_accepted(lambda: task_jobs.queue_list_export(current_user, f, title))
    file, count = list_export.spooled(
        assignments_query(current_user, f, today), title=title, today=today, period=list_export.period_of(f)
    )
    # On the export's own audit row (app/audit/hooks.py writes it for any attachment).
    g.audit_detail = {"rows": count, "filters": {k: str(v) for k, v in args.items()}}
    return list_export.download(file, list_export.file_name(title, today))


_assignment = scoped(Assignment, "assignment.view")


# What the item's page names beside it: its task (project, category, owner), units,
# responsible person and parent — many-to-one each, so joined in one query.
_ITEM = (
    joinedload(Assignment.task).joinedload(Task.project),
    joinedload(Assignment.task).joinedload(Task.category),
    joinedload(Assignment.task).joinedload(Task.owner_unit),
    joinedload(Assignment.unit),
    joinedload(Assignment.assigned_by_unit),
    joinedload(Assignment.responsible_user).lazyload("*"),  # a name, not the roles
    joinedload(Assignment.parent).joinedload(Assignment.unit),
)


def _assignment_in_full(assignment_id: int) -> Assignment:
    """The assignment with all it names, through the policy: hidden → 404 (as
    `authz.get_scoped_or_404`, which reads the bare row)."""
    a = db.session.scalars(select(Assignment).where(Assignment.id == assignment_id).options(*_ITEM)).first()
    if a is None:
        abort(404)
    authz.require(current_user, "assignment.view", a)
    return a


@bp.route("/assignments/<int:assignment_id>")
@login_required
@loads(_assignment_in_full, "a")
@bp.doc(
    summary="单个承办事项：事项内容、进度、时限状态、分解情况，以及分页的办理记录（新的在前）",
    description="办理记录合并本事项及其清单事项的操作记录和进度反馈，按时间倒序分页；"
    "用 history_page / history_per_page 翻页，或沿 history.next 取下一页。范围外的事项返回 404。",
)
@bp.arguments(AssignmentDetailQuery, location="query")
@bp.response(200, AssignmentDetailOut)
@bp.errors(400, 401, 403, 404)
def assignment_detail(args: dict, a: Assignment):
    today = local_today()
    children, steps = detail.splits(a, current_user), detail.steps(a)
    parent = a.parent if a.parent is not None and authz.sees(current_user, a.parent) else None
    return detail_out(
        a,
        parent=parent,
        children=children,
        steps=steps,
        extensions=detail.extension_requests(a),
        history=detail.history_page(a, args["history_page"], args["history_per_page"]),
        today=today,
        links=links.links_of(a.task, current_user) if a.task.project_id is not None else [],
    )


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
