"""Importing a month's figures from a sheet: upload → preview with row errors → commit
all or nothing; and the template to fill in."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from app import authz
from app.errors import ServiceError
from app.importing import ImportBatch
from app.indicators import bp, importer
from app.indicators.import_sheet import MAX_BYTES, MAX_ROWS
from app.indicators.import_template import template_xlsx
from app.indicators.values import check_month
from app.indicators.views import default_month
from app.timeutil import local_today, utcnow
from app.views_util import actor, run_service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _may_import() -> None:
    """Whoever may enter figures for their own court may import them."""
    authz.require(current_user, "indicator.enter", current_user.unit)


def _upload_page(month: str, status: int):
    return render_template("indicators/import_upload.html", month=month[:20], max_rows=MAX_ROWS), status


@bp.route("/indicators/import", methods=["GET", "POST"])
@login_required
def import_upload():
    _may_import()
    month = request.values.get("month") or default_month()
    if request.method == "GET":
        return _upload_page(month, 200)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的指标数据文件（.xlsx 或 .csv）。", "danger")
        return _upload_page(month, 400)
    data = upload.read(MAX_BYTES + 1)  # one byte more tells a file too large
    batch, status = run_service(
        lambda: importer.preview(
            actor(), upload.filename, data, month=month, today=local_today(), now=utcnow()
        )
    )
    if batch is None:
        return _upload_page(month, status)
    return redirect(url_for("indicators.import_preview", batch_id=batch.id))


@bp.route("/indicators/import/template.xlsx")
@login_required
def import_template():
    _may_import()
    try:
        month = check_month(request.args.get("month") or default_month(), local_today())
        body = template_xlsx(current_user, month)
    except ServiceError as exc:
        flash(exc.message, "danger")
        return _upload_page(default_month(), 400)
    return send_file(
        io.BytesIO(body), mimetype=XLSX, as_attachment=True, download_name=f"质效指标导入模板_{month}.xlsx"
    )


def _batch(batch_id: int) -> ImportBatch:
    _may_import()
    batch = authz.get_scoped_or_404(ImportBatch, batch_id, "import.view", current_user)
    if batch.kind != importer.KIND:
        abort(404)
    return batch


def _preview_page(batch: ImportBatch, status: int = 200):
    return render_template("indicators/import_preview.html", batch=batch, result=batch.result or {}), status


@bp.route("/indicators/import/<int:batch_id>")
@login_required
def import_preview(batch_id: int):
    return _preview_page(_batch(batch_id))


@bp.route("/indicators/import/<int:batch_id>/commit", methods=["POST"])
@login_required
def import_commit(batch_id: int):
    batch = _batch(batch_id)
    counts, status = run_service(lambda: importer.commit(actor(), batch, today=local_today(), now=utcnow()))
    if counts is None:
        return _preview_page(batch, status)
    flash(
        f"已导入 {counts['units']} 个单位 {counts['month']} 的数值：新增 {counts['added']} 项，"
        f"更正 {counts['changed']} 项，{counts['unchanged']} 项与原值相同。",
        "success",
    )
    return redirect(url_for("indicators.import_preview", batch_id=batch.id))
