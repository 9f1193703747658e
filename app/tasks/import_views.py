"""Task-list import pages: upload → preview with row errors → commit.

A sheet of up to IMPORT_INLINE_ROWS rows is checked and committed within the request
(well under a second); a larger one is stored and handed to a background job, and the
page that follows is the job's, with its progress bar (app.background)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.background import services as jobs
from app.importing import ImportBatch, row_errors
from app.tasks import bp, importer
from app.tasks.helpers import visible_projects
from app.tasks.jobs import commit_message
from app.tasks.models import Project
from app.timeutil import utcnow
from app.views_util import actor, run_service

INLINE_ROWS = 200  # default of IMPORT_INLINE_ROWS: larger sheets go to a background job


def _inline_rows() -> int:
    return int(current_app.config.get("IMPORT_INLINE_ROWS", INLINE_ROWS))


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
            data = upload.read()
            rows = jobs.sheet_rows(upload.filename, data)
            if rows > _inline_rows():
                job, status = run_service(lambda: _queue_preview(project, upload.filename, data, rows))
                if job:
                    return redirect(url_for("jobs.job_detail", job_id=job.id))
            else:
                batch, status = run_service(
                    lambda: importer.preview(actor(), project, upload.filename, data, now=utcnow())
                )
                if batch:
                    return redirect(url_for("tasks.task_import_preview", batch_id=batch.id))
    selected = request.values.get("project_id", type=int)
    return render_template("tasks/import_upload.html", projects=projects, selected=selected), status


def _queue_preview(project: Project, filename: str, data: bytes, rows: int):
    """Keep the file; the scheduler's job checks it (app.tasks.jobs.import_preview)."""
    params = {
        "project_id": project.id,
        "filename": (filename or "")[:255],
        "upload": jobs.store_upload(data, filename),
    }
    return jobs.enqueue(actor(), "tasks.import_preview", params, now=utcnow(), total=rows)


def _batch(batch_id: int) -> ImportBatch:
    authz.require(current_user, "import.tasks")
    return authz.get_scoped_or_404(ImportBatch, batch_id, "import.view", current_user)


def _preview_page(batch: ImportBatch, kept: set[int] | None = None):
    """The preview; `kept`: the duplicate rows the user ticked "仍要导入" on a commit that
    was refused (ticked again, not lost)."""
    return render_template(
        "tasks/import_preview.html",
        batch=batch,
        row_errors=row_errors,
        bad=importer.bad_rows(batch),
        duplicates=importer.duplicate_rows(batch),
        kept=kept or set(),
        project=_project_of(batch),
        committing=jobs.active_job(current_user, "tasks.import_commit", batch_id=batch.id),
    )


@bp.route("/imports/tasks/<int:batch_id>")
@login_required
def task_import_preview(batch_id: int):
    return _preview_page(_batch(batch_id))


def _project_of(batch: ImportBatch) -> Project | None:
    from app.extensions import db

    return db.session.get(Project, (batch.result or {}).get("project_id", 0))


@bp.route("/imports/tasks/<int:batch_id>/commit", methods=["POST"])
@login_required
def task_import_commit(batch_id: int):
    batch = _batch(batch_id)
    exclude = [int(x) for x in request.form.getlist("exclude_rows") if x.isdigit()]
    keep = [int(x) for x in request.form.getlist("keep_rows") if x.isdigit()]
    keep_all = request.form.get("keep_all") == "1"
    if len(batch.rows) > _inline_rows():
        job, status = run_service(lambda: _queue_commit(batch, exclude, keep, keep_all))
        if job is None:
            return _preview_page(batch, set(keep)), status
        return redirect(url_for("jobs.job_detail", job_id=job.id))
    result, status = run_service(
        lambda: importer.commit(
            actor(), batch, exclude_rows=exclude, keep_rows=keep, keep_all=keep_all, now=utcnow()
        )
    )
    if result is None:
        return _preview_page(batch, set(keep)), status
    flash(commit_message(result), "success")
    return redirect(url_for("tasks.project_detail", project_id=result["project_id"]))


def _queue_commit(batch: ImportBatch, exclude: list[int], keep: list[int], keep_all: bool):
    """Refuse at once what can be refused; otherwise the job commits (or joins the job
    already committing this batch: a second click starts nothing new). The duplicates
    to keep are kept on the batch, where the job reads them."""
    running = jobs.active_job(actor(), "tasks.import_commit", batch_id=batch.id)
    if running is not None:
        return running
    importer.keep_duplicates(batch, keep, every=keep_all)
    importer.check_commit(batch, exclude)
    total = importer.rows_to_write(batch, set(exclude))
    return jobs.enqueue(
        actor(),
        "tasks.import_commit",
        {"batch_id": batch.id, "exclude": sorted(set(exclude)), "filename": batch.filename},
        now=utcnow(),
        total=total,
    )
