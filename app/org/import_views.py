"""Bulk import pages: upload → preview with row errors → commit all or nothing."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.extensions import db
from app.importing import ImportBatch
from app.org import bp, importer
from app.org.forms import ImportForm
from app.timeutil import utcnow
from app.views_util import actor, run_service

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
            batch, status = run_service(
                lambda: importer.preview(
                    actor(), form.kind.data, upload.filename, upload.read(), now=utcnow()
                )
            )
            if batch:
                return redirect(url_for("org.import_preview", batch_id=batch.id))
    elif request.method == "POST":
        status = 400
    return render_template("org/import_upload.html", form=form), status


@bp.route("/admin/import/<int:batch_id>")
@login_required
def import_preview(batch_id: int):
    batch = _load_batch(batch_id)
    columns = importer.LABELS[batch.kind]
    return render_template(
        "org/import_preview.html", batch=batch, columns=columns, bad=importer.bad_rows(batch)
    )


@bp.route("/admin/import/<int:batch_id>/commit", methods=["POST"])
@login_required
def import_commit(batch_id: int):
    batch = _load_batch(batch_id)
    count, status = run_service(lambda: importer.commit(actor(), batch, now=utcnow()))
    if count is None:
        db.session.refresh(batch)
        columns = importer.LABELS[batch.kind]
        return render_template(
            "org/import_preview.html", batch=batch, columns=columns, bad=importer.bad_rows(batch)
        ), status
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
