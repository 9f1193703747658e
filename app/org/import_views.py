"""Bulk import pages: upload → preview with row errors → commit all or nothing.

A file of up to IMPORT_INLINE_ROWS rows is checked and saved within the request; a
larger one (a province's 2,000 accounts: a password hash each) is handed to a
background job, and the page that follows is the job's (app.background)."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.background import services as jobs
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch
from app.org import bp, importer
from app.org import jobs as _jobs  # noqa: F401 — declares the import's background jobs
from app.org.forms import ImportForm
from app.timeutil import utcnow
from app.views_util import actor, run_service

INLINE_ROWS = 200  # default of IMPORT_INLINE_ROWS: larger files go to a background job

TEMPLATE_ROWS = {
    "units": [
        ["单位全称", "简称/别名", "上级单位", "层级", "法庭类型", "特色标签"],
        ["示例区人民法院", "示例区法院", "本溪市中级人民法院", "基层人民法院", "", ""],
        ["示例人民法庭", "示例法庭", "示例区人民法院", "人民法庭", "人民法庭", "旅游法庭"],
    ],
    "users": [
        # No 角色 column: roles are granted by the 安全管理员 afterwards (三员分立).
        ["用户名", "姓名", "所属单位", "邮箱", "手机", "初始密码"],
        ["zhangsan", "张三", "华来人民法庭", "zhangsan@example.cn", "", "Init@2026"],
    ],
}


def _load_batch(batch_id: int) -> ImportBatch:
    authz.require(current_user, "admin.access")
    return authz.get_scoped_or_404(ImportBatch, batch_id, "import.view", current_user)


@bp.route("/admin/import", methods=["GET", "POST"])
@login_required
def import_upload():
    authz.require(current_user, "admin.access")
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("请选择要上传的文件。", "danger")
            status = 400
        else:
            data = upload.read()
            rows = jobs.sheet_rows(upload.filename, data)
            if rows > _inline_rows():
                job, status = run_service(lambda: _queue_preview(form.kind.data, upload.filename, data, rows))
                if job:
                    return redirect(url_for("jobs.job_detail", job_id=job.id))
            else:
                batch, status = run_service(
                    lambda: importer.preview(actor(), form.kind.data, upload.filename, data, now=utcnow())
                )
                if batch:
                    return redirect(url_for("org.import_preview", batch_id=batch.id))
    elif request.method == "POST":
        status = 400
    return render_template("org/import_upload.html", form=form), status


def _inline_rows() -> int:
    return int(current_app.config.get("IMPORT_INLINE_ROWS", INLINE_ROWS))


def _queue_preview(kind: str, filename: str, data: bytes, rows: int):
    """Keep the file; the scheduler's job checks it (app.org.jobs.import_preview)."""
    if kind not in importer.ROW_HANDLERS:
        raise ServiceError("请选择导入内容：单位或用户。")
    params = {"kind": kind, "filename": (filename or "")[:255], "upload": jobs.store_upload(data, filename)}
    return jobs.enqueue(actor(), "org.import_preview", params, now=utcnow(), total=rows)


def _queue_commit(batch: ImportBatch):
    """Refuse at once what can be refused; otherwise a job saves it (or the one already doing so)."""
    running = jobs.active_job(actor(), "org.import_commit", batch_id=batch.id)
    if running is not None:
        return running
    importer.check_commit(batch)
    params = {"batch_id": batch.id, "filename": batch.filename}
    return jobs.enqueue(actor(), "org.import_commit", params, now=utcnow(), total=len(batch.rows))


def _preview_page(batch: ImportBatch):
    return render_template(
        "org/import_preview.html",
        batch=batch,
        columns=importer.LABELS[batch.kind],
        bad=importer.bad_rows(batch),
        committing=jobs.active_job(current_user, "org.import_commit", batch_id=batch.id),
    )


@bp.route("/admin/import/<int:batch_id>")
@login_required
def import_preview(batch_id: int):
    return _preview_page(_load_batch(batch_id))


@bp.route("/admin/import/<int:batch_id>/commit", methods=["POST"])
@login_required
def import_commit(batch_id: int):
    batch = _load_batch(batch_id)
    if len(batch.rows) > _inline_rows():
        job, status = run_service(lambda: _queue_commit(batch))
        if job is None:
            db.session.refresh(batch)
            return _preview_page(batch), status
        return redirect(url_for("jobs.job_detail", job_id=job.id))
    count, status = run_service(lambda: importer.commit(actor(), batch, now=utcnow()))
    if count is None:
        db.session.refresh(batch)
        return _preview_page(batch), status
    flash(f"导入成功，共 {count} 条。", "success")
    return redirect(url_for("org.units" if batch.kind == "units" else "org.users"))


@bp.route("/admin/import/template/<kind>.<fmt>")
@login_required
def import_template(kind: str, fmt: str):
    authz.require(current_user, "admin.access")
    if kind not in TEMPLATE_ROWS or fmt not in ("csv", "xlsx"):
        abort(404)
    rows = TEMPLATE_ROWS[kind]
    name = {"units": "单位导入模板", "users": "用户导入模板"}[kind]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        data = ("\ufeff" + buf.getvalue()).encode("utf-8")
        mime = "text/csv; charset=utf-8"
    else:
        from app.exports.xlsx import Book, Column

        book = Book(name)
        book.sheet(name, [Column(h, 22) for h in rows[0]], rows[1:])
        data = book.to_bytes()
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from urllib.parse import quote

    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{fmt}"}
    return Response(data, mimetype=mime, headers=headers)
