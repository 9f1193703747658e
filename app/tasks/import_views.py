"""Task-list import pages: upload → preview with row errors → commit."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.importing import ImportBatch, row_errors
from app.tasks import bp, importer
from app.tasks.helpers import visible_projects
from app.tasks.models import Project
from app.timeutil import utcnow
from app.views_util import actor, run_service


@bp.route("/imports/tasks", methods=["GET", "POST"])
@login_required
def task_import():
    authz.require(current_user, "import.tasks")
    projects = [p for p in visible_projects(current_user) if authz.can(current_user, "project.add_task", p)]
    status = 200
    if request.method == "POST":
        project_id = request.form.get("project_id", type=int)
        upload = request.files.get("file")
        if not project_id or upload is None or not upload.filename:
            flash("请选择项目和要上传的任务清单文件。", "danger")
            status = 400
        else:
            project = authz.get_scoped_or_404(Project, project_id, "project.add_task", current_user)
            batch, status = run_service(
                lambda: importer.preview(actor(), project, upload.filename, upload.read(), now=utcnow())
            )
            if batch:
                return redirect(url_for("tasks.task_import_preview", batch_id=batch.id))
    selected = request.values.get("project_id", type=int)
    return render_template("tasks/import_upload.html", projects=projects, selected=selected), status


def _batch(batch_id: int) -> ImportBatch:
    authz.require(current_user, "import.tasks")
    return authz.get_scoped_or_404(ImportBatch, batch_id, "import.view", current_user)


@bp.route("/imports/tasks/<int:batch_id>")
@login_required
def task_import_preview(batch_id: int):
    batch = _batch(batch_id)
    return render_template(
        "tasks/import_preview.html",
        batch=batch,
        row_errors=row_errors,
        bad=importer.bad_rows(batch),
        project=_project_of(batch),
    )


def _project_of(batch: ImportBatch) -> Project | None:
    from app.extensions import db

    return db.session.get(Project, (batch.result or {}).get("project_id", 0))


@bp.route("/imports/tasks/<int:batch_id>/commit", methods=["POST"])
@login_required
def task_import_commit(batch_id: int):
    batch = _batch(batch_id)
    exclude = [int(x) for x in request.form.getlist("exclude_rows") if x.isdigit()]
    result, status = run_service(lambda: importer.commit(actor(), batch, exclude_rows=exclude, now=utcnow()))
    if result is None:
        return render_template(
            "tasks/import_preview.html",
            batch=batch,
            row_errors=row_errors,
            bad=importer.bad_rows(batch),
            project=_project_of(batch),
        ), status
    flash(
        f"导入完成：新增并交办 {result['created']} 项"
        + (f"，排除 {len(result['excluded'])} 行" if result["excluded"] else "")
        + (f"，{result['already']} 项此前已导入、已跳过" if result["already"] else "")
        + "。",
        "success",
    )
    return redirect(url_for("tasks.project_detail", project_id=result["project_id"]))
