"""JSON API /api/v1 — the same services and the same policy as the pages."""

from __future__ import annotations

from datetime import date

from flask import Response, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import authz
from app.api import bp, tokens
from app.api.openapi import document
from app.api.util import (
    BadRequest,
    body,
    commit_or_error,
    date_field,
    error,
    int_field,
    int_list,
    query_date,
    query_int,
    text_field,
)
from app.auth.services import authenticate
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch, row_errors
from app.org.models import Unit, UnitClosure
from app.org.queries import _load_names
from app.tasks import importer, services
from app.tasks.export import completion_xlsx
from app.tasks.models import Assignment, Project
from app.tasks.parsing import DeadlineError, parse_deadline
from app.tasks.queries import AssignmentFilters, assignments_query, completion_items, completion_rows, light
from app.timeutil import local_today, utcnow


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return error(exc.message, exc.code)


def _me():
    return current_user._get_current_object()


@bp.route("/openapi.json")
def openapi():
    return jsonify(document())


@bp.route("/auth/token", methods=["POST"])
def token():
    data = body()
    username, password = text_field(data, "username"), text_field(data, "password")
    try:
        user = authenticate(username, password, request.remote_addr or "-", now=utcnow())
    except ServiceError as exc:
        db.session.commit()  # keep the failed attempt for the lock-out
        return error(exc.message, 429 if exc.status == 429 else 401)
    value = tokens.issue(user, now=utcnow())
    db.session.commit()
    return jsonify({"token": value, "expires_in_days": tokens.TOKEN_DAYS})


def _unit_json(u: Unit) -> dict:
    return {
        "id": u.id,
        "name": u.name,
        "level": u.level,
        "parent_id": u.parent_id,
        "aliases": u.aliases,
        "tribunal_kind": u.tribunal_kind,
        "feature_label": u.feature_label,
        "is_active": u.is_active,
    }


@bp.route("/units")
@login_required
def units():
    under = query_int("under")
    root = authz.get_scoped_or_404(Unit, under, "unit.view", current_user) if under else current_user.unit
    stmt = authz.scope(select(Unit), Unit, current_user).where(
        Unit.id.in_(select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == root.id))
    )
    rows = list(db.session.scalars(stmt.order_by(Unit.id)))
    _load_names(rows)
    return jsonify([_unit_json(u) for u in rows])


@bp.route("/projects", methods=["POST"])
@login_required
def project_create():
    data = body()
    authz.require(current_user, "project.create")
    owner = authz.get_scoped_or_404(Unit, int_field(data, "owner_unit_id"), "unit.view", current_user)
    project, err = commit_or_error(
        lambda: services.create_project(
            _me(),
            name=text_field(data, "name"),
            owner_unit=owner,
            start=date_field(data, "start"),
            end=date_field(data, "end"),
            description=text_field(data, "description", required=False),
            now=utcnow(),
        )
    )
    return err or (jsonify({"id": project.id}), 201)


def _deadline_args(data: dict, project: Project) -> dict:
    raw = data.get("deadline")
    if raw is None:
        raise BadRequest("缺少字段 deadline（YYYY-MM-DD，或“长期坚持”“每月”“每季度”“每半年”）。")
    if not isinstance(raw, str):
        raise BadRequest("字段 deadline 须为字符串。")
    try:
        parsed = parse_deadline(raw, project.start.year)
    except DeadlineError as exc:
        raise BadRequest(str(exc)) from None
    return {
        "deadline_kind": parsed.kind,
        "deadline": parsed.due,
        "recurrence": parsed.recurrence,
        "report_every": parsed.report_every,
    }


@bp.route("/tasks", methods=["POST"])
@login_required
def task_create():
    data = body()
    project = authz.get_scoped_or_404(
        Project, int_field(data, "project_id"), "project.add_task", current_user
    )
    kwargs = _deadline_args(data, project)
    unit_ids = int_list(data, "unit_ids")
    units = [authz.get_scoped_or_404(Unit, uid, "unit.view", current_user) for uid in unit_ids]

    def create():
        task = services.create_task(
            _me(),
            project,
            title=text_field(data, "title"),
            requirements=text_field(data, "requirements", False),
            lead_leader=text_field(data, "lead_leader", False),
            now=utcnow(),
            **kwargs,
        )
        created = services.assign_task(_me(), task, units, now=utcnow()) if units else []
        return task, created

    result, err = commit_or_error(create)
    if err:
        return err
    task, created = result
    return jsonify(
        {
            "id": task.id,
            "assignments": [
                {"id": a.id, "unit_id": a.unit_id, "status": a.status, "deadline": _iso(a.deadline)}
                for a in created
            ],
        }
    ), 201


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _assignment_json(a: Assignment, today: date) -> dict:
    state = light(a, today)
    return {
        "id": a.id,
        "task_id": a.task_id,
        "title": a.task.title,
        "unit_id": a.unit_id,
        "status": a.status,
        "deadline": _iso(a.deadline),
        "original_deadline": _iso(a.original_deadline),
        "period": a.period_label or None,
        "progress": a.progress,
        "overdue": state == "overdue",
        "due_soon": state == "due_soon",
    }


@bp.route("/assignments")
@login_required
def assignment_list():
    status = request.args.get("status", "")
    if status and status not in (
        "open",
        "overdue",
        "due_soon",
        "pending",
        "in_progress",
        "submitted",
        "closed",
        "returned",
    ):
        raise BadRequest(
            "参数 status 只能是 open、overdue、due_soon、pending、in_progress、submitted、closed、returned。"
        )
    unit_id = query_int("unit")
    if unit_id:
        authz.get_scoped_or_404(Unit, unit_id, "unit.view", current_user)
    page = query_int("page") or 1
    per_page = min(query_int("per_page") or 100, 500)
    f = AssignmentFilters(
        project_id=query_int("project"),
        unit_id=unit_id,
        status=status,
        deadline_from=query_date("from"),
        deadline_to=query_date("to"),
    )
    today = local_today()
    stmt = assignments_query(current_user, f, today)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    return jsonify(
        {
            "items": [_assignment_json(a, today) for a in rows],
            "total": total,
            "page": page,
            "per_page": per_page,
        }
    )


def _assignment(assignment_id: int) -> Assignment:
    return authz.get_scoped_or_404(Assignment, assignment_id, "assignment.view", current_user)


def _done(a: Assignment, status: int = 200):
    return jsonify(_assignment_json(a, local_today())), status


@bp.route("/assignments/<int:assignment_id>/acknowledge", methods=["POST"])
@login_required
def assignment_acknowledge(assignment_id: int):
    a = _assignment(assignment_id)
    _, err = commit_or_error(lambda: services.acknowledge(_me(), a, now=utcnow()))
    return err or _done(a)


@bp.route("/assignments/<int:assignment_id>/progress", methods=["POST"])
@login_required
def assignment_progress(assignment_id: int):
    a = _assignment(assignment_id)
    form = request.form
    percent_raw = form.get("percent", "").strip()
    if percent_raw and not percent_raw.lstrip("-").isdigit():
        raise BadRequest("percent 须为 0 到 100 的整数。")
    percent = int(percent_raw) if percent_raw else None
    report, err = commit_or_error(
        lambda: services.add_report(
            _me(),
            a,
            text=form.get("text", ""),
            percent=percent,
            files=request.files.getlist("files"),
            submit=form.get("submit", "") in ("1", "true", "yes"),
            now=utcnow(),
        )
    )
    if err:
        return err
    return jsonify({"report_id": report.id, "assignment": _assignment_json(a, local_today())}), 201


@bp.route("/assignments/<int:assignment_id>/review", methods=["POST"])
@login_required
def assignment_review(assignment_id: int):
    data = body()
    a = _assignment(assignment_id)
    decision = text_field(data, "decision")
    if decision not in ("approve", "return"):
        raise BadRequest("decision 只能是 approve 或 return。")
    _, err = commit_or_error(
        lambda: services.review(
            _me(), a, decision=decision, comment=text_field(data, "comment", False), now=utcnow()
        )
    )
    return err or _done(a)


@bp.route("/assignments/<int:assignment_id>/extension", methods=["POST"])
@login_required
def assignment_extension(assignment_id: int):
    data = body()
    a = _assignment(assignment_id)
    req, err = commit_or_error(
        lambda: services.request_extension(
            _me(),
            a,
            new_deadline=date_field(data, "new_deadline"),
            reason=text_field(data, "reason"),
            now=utcnow(),
        )
    )
    return err or (
        jsonify({"id": req.id, "status": req.status, "requested_deadline": _iso(req.requested_deadline)}),
        201,
    )


def _completion():
    root_id = query_int("unit") or current_user.unit_id
    root = authz.get_scoped_or_404(Unit, root_id, "completion.view", current_user)
    project_id = query_int("project")
    if project_id:
        authz.get_scoped_or_404(Project, project_id, "project.view", current_user)
    d_from, d_to = query_date("from"), query_date("to")
    rows = completion_rows(
        current_user, root, local_today(), project_id=project_id, date_from=d_from, date_to=d_to
    )
    return root, project_id, d_from, d_to, rows


@bp.route("/completion-list")
@login_required
def completion_list():
    root, _, _, _, rows = _completion()
    return jsonify(
        {
            "unit_id": root.id,
            "units": [
                {
                    "unit_id": r.unit.id,
                    "name": r.unit.name,
                    "total": r.total,
                    "closed": r.closed,
                    "open": r.open,
                    "overdue": r.overdue,
                    "closed_on_time": r.closed_on_time,
                    "on_time_rate": r.on_time_rate,
                    "review": r.review.decision if r.review else None,
                }
                for r in rows
            ],
        }
    )


@bp.route("/completion-list.xlsx")
@login_required
def completion_list_xlsx():
    root, project_id, d_from, d_to, rows = _completion()
    items = completion_items(
        current_user, root, local_today(), project_id=project_id, date_from=d_from, date_to=d_to, limit=20000
    )
    data = completion_xlsx(f"{root.name}完成清单", rows, items, local_today())
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _import_json(batch: ImportBatch) -> dict:
    return {
        "import_id": batch.id,
        "status": batch.status,
        "rows": [
            {
                "row": r["row"],
                "title": r["data"]["title"],
                "unit_names": r["data"]["unit_names"],
                "unit_ids": r.get("unit_ids", []),
                "deadline": r["data"]["deadline"],
                "already_imported": r.get("skip", False),
                "errors": row_errors(r),
            }
            for r in batch.rows
        ],
    }


@bp.route("/imports/tasks", methods=["POST"])
@login_required
def import_tasks():
    authz.require(current_user, "import.tasks")
    project_id = request.form.get("project_id", "")
    if not project_id.isdigit():
        raise BadRequest("缺少 project_id。")
    project = authz.get_scoped_or_404(Project, int(project_id), "project.add_task", current_user)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("缺少上传文件 file。")
    batch, err = commit_or_error(
        lambda: importer.preview(_me(), project, upload.filename, upload.read(), now=utcnow())
    )
    return err or (jsonify(_import_json(batch)), 201)


@bp.route("/imports/<int:import_id>/commit", methods=["POST"])
@login_required
def import_commit(import_id: int):
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise BadRequest("请求体须为 JSON 对象。")
    authz.require(current_user, "import.tasks")
    batch = authz.get_scoped_or_404(ImportBatch, import_id, "import.view", current_user)
    exclude = int_list(data, "exclude_rows")
    result, err = commit_or_error(lambda: importer.commit(_me(), batch, exclude_rows=exclude, now=utcnow()))
    return err or jsonify({"import_id": batch.id, **result})


@bp.route("/units/<int:unit_id>")
@login_required
def unit_detail(unit_id: int):
    unit = authz.get_scoped_or_404(Unit, unit_id, "unit.view", current_user)
    return jsonify(_unit_json(unit))
