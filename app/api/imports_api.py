"""API: a task list uploaded, previewed (nothing saved) and committed, row by row."""

from __future__ import annotations

from flask_login import current_user, login_required

from app import authz
from app.api import bp
from app.api.core import loads, me, requires, run, scoped
from app.api.inputs import ImportCommitIn, ImportForm
from app.api.outputs import ImportCommitOut, ImportOut
from app.importing import ImportBatch, row_errors
from app.tasks import importer
from app.tasks.models import Project
from app.timeutil import utcnow


def _import_out(batch: ImportBatch) -> dict:
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
@requires("import.tasks")
@bp.doc(summary="上传任务清单并预览（不保存）")
@bp.arguments(ImportForm, location="multipart")
@bp.response(201, ImportOut)
@bp.errors(400, 401, 403, 404, 413)
def import_tasks(args: dict):
    project = authz.get_scoped_or_404(Project, args["project_id"], "project.add_task", current_user)
    upload = args["file"]
    batch = run(lambda: importer.preview(me(), project, upload.filename, upload.read(), now=utcnow()))
    return _import_out(batch)


@bp.route("/imports/<int:import_id>/commit", methods=["POST"])
@login_required
@requires("import.tasks")
@loads(scoped(ImportBatch, "import.view"), "batch")
@bp.doc(summary="确认导入（可排除出错的行）")
@bp.arguments(ImportCommitIn, required=False)
@bp.response(200, ImportCommitOut)
@bp.errors(400, 401, 403, 404)
def import_commit(args: dict, batch: ImportBatch):
    result = run(lambda: importer.commit(me(), batch, exclude_rows=args["exclude_rows"], now=utcnow()))
    return {"import_id": batch.id, **result}
