"""月末通报 pages: list, edit the draft, issue, Word file, draft last month's now."""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.background import services as jobs
from app.extensions import db
from app.org.models import Unit
from app.reminders import bp, circular
from app.reminders import jobs as _jobs  # noqa: F401 — declares the circular's background job
from app.reminders.models import Circular
from app.timeutil import local_today, utcnow
from app.views_util import actor, run_service

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _load(circular_id: int) -> Circular:
    """Load → the circular's unit must be visible (else 404) → reviewer (else 403)."""
    return authz.get_scoped_or_404(Circular, circular_id, "circular.manage", current_user)


@bp.route("/circulars")
@login_required
def circular_list():
    authz.require(current_user, "circular.manage")
    rows = db.session.execute(
        select(Circular, Unit.name)
        .join(Unit, Unit.id == Circular.unit_id)
        .where(Circular.unit_id.in_(authz.scope_unit_ids(current_user)))
        .order_by(Circular.period.desc(), Circular.id.desc())
    ).all()
    return render_template("reminders/circular_list.html", rows=rows)


@bp.route("/circulars/<int:circular_id>")
@login_required
def circular_detail(circular_id: int):
    return render_template("reminders/circular_detail.html", c=_load(circular_id))


@bp.route("/circulars/<int:circular_id>", methods=["POST"])
@login_required
def circular_save(circular_id: int):
    c = _load(circular_id)
    result, status = run_service(
        lambda: circular.save_circular(
            actor(),
            c,
            title=request.form.get("title", ""),
            body=request.form.get("body", ""),
            expected_version=request.form.get("version"),
            now=utcnow(),
        )
    )
    if result is None:
        return render_template(
            "reminders/circular_detail.html", c=c, draft_body=request.form.get("body")
        ), status
    flash("已保存通报稿。", "success")
    return redirect(url_for("reminders.circular_detail", circular_id=c.id))


@bp.route("/circulars/<int:circular_id>/issue", methods=["POST"])
@login_required
def circular_issue(circular_id: int):
    c = _load(circular_id)
    result, status = run_service(
        lambda: circular.issue_circular(
            actor(), c, expected_version=request.form.get("version"), now=utcnow()
        )
    )
    if result is None:
        return render_template("reminders/circular_detail.html", c=c), status
    flash("通报已印发。", "success")
    return redirect(url_for("reminders.circular_detail", circular_id=c.id))


@bp.route("/circulars/<int:circular_id>.docx")
@login_required
def circular_docx(circular_id: int):
    c = _load(circular_id)
    return send_file(
        io.BytesIO(circular.circular_docx(c)),
        mimetype=DOCX_MIME,
        as_attachment=True,
        download_name=f"月末通报_{c.period}.docx",
    )


@bp.route("/circulars/draft", methods=["POST"])
@login_required
def circular_draft():
    """Last month's draft: opened at once if it exists, else made by a background job
    (its ranking reads every item of the province) whose page opens it when done."""
    authz.require(current_user, "circular.manage")
    unit = current_user.unit
    period = circular.previous_period(local_today())
    existing = db.session.scalar(
        select(Circular).where(Circular.unit_id == unit.id, Circular.period == period)
    )
    if existing is not None:
        flash(f"{period} 月末通报稿此前已生成。", "info")
        return redirect(url_for("reminders.circular_detail", circular_id=existing.id))
    params = {"unit_id": unit.id, "period": period}
    job, _status = run_service(
        lambda: jobs.enqueue_once(actor(), "reminders.circular", params, now=utcnow(), total=1)
    )
    if job is None:
        return redirect(url_for("reminders.circular_list"))
    return redirect(url_for("jobs.job_detail", job_id=job.id))
