"""API: the completion list (完成清单) of a unit's subtree, as JSON and as XLSX."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from app import authz
from app.api import bp
from app.api.core import job_accepted
from app.api.inputs import CompletionQuery
from app.api.outputs import JOB_ACCEPTED, CompletionOut, JobAcceptedOut
from app.extensions import db
from app.org.models import Unit
from app.tasks import jobs as task_jobs
from app.tasks.export import completion_period, completion_xlsx, item_values
from app.tasks.models import Project
from app.tasks.queries import completion_items_query, completion_rows, stream
from app.timeutil import local_today

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _completion(args: dict):
    root_id = args.get("unit") or current_user.unit_id
    root = authz.get_scoped_or_404(Unit, root_id, "completion.view", current_user)
    project_id = args.get("project")
    if project_id:
        authz.get_scoped_or_404(Project, project_id, "project.view", current_user)
    d_from, d_to = args.get("date_from"), args.get("date_to")
    rows = completion_rows(
        current_user, root, local_today(), project_id=project_id, date_from=d_from, date_to=d_to
    )
    return root, project_id, d_from, d_to, rows


@bp.route("/completion-list")
@login_required
@bp.doc(summary="完成清单（按直接下级单位汇总）")
@bp.arguments(CompletionQuery, location="query")
@bp.response(200, CompletionOut)
@bp.errors(400, 401, 403, 404)
def completion_list(args: dict):
    root, _, _, _, rows = _completion(args)
    return {
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


@bp.route("/completion-list.xlsx")
@login_required
@bp.doc(summary="完成清单 Excel")
@bp.arguments(CompletionQuery, location="query")
@bp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX, description="XLSX 文件")
@bp.alt_response(202, schema=JobAcceptedOut, description=JOB_ACCEPTED)
@bp.errors(400, 401, 403, 404)
def completion_list_xlsx(args: dict):
    root, project_id, d_from, d_to, rows = _completion(args)
    if sum(r.total for r in rows) > task_jobs.inline_limit():
        project = db.session.get(Project, project_id) if project_id else None
        return job_accepted(
            lambda: task_jobs.queue_completion_export(current_user, root, project, d_from, d_to)
        )
    items = stream(
        item_values(
            completion_items_query(
                current_user, root, local_today(), project_id=project_id, date_from=d_from, date_to=d_to
            )
        )
    )
    project = db.session.get(Project, project_id) if project_id else None
    period = completion_period(project.name if project else None, d_from, d_to)
    data = completion_xlsx(f"{root.name}完成清单", rows, items, local_today(), period=period)
    return Response(data, mimetype=XLSX)
