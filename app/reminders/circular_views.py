"""月末通报 pages: the list (the reviewers' drafts, and every issued circular the user's
court may read), one circular (edit the draft, issue it; read it, which is recorded;
who has read it), the Word file, and drafting the month picked."""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.background import services as jobs
from app.errors import ServiceError
from app.extensions import db, writes_on_get
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


def _list_page(period: str | None = None, status: int = 200):
    rows = db.session.execute(
        authz.scope(
            select(Circular, Unit.name).join(Unit, Unit.id == Circular.unit_id), Circular, current_user
        ).order_by(Circular.period.desc(), Circular.id.desc())
    ).all()
    ids = [c.id for c, _ in rows]
    today = local_today()
    return render_template(
        "reminders/circular_list.html",
        rows=rows,
        counts=circular.read_counts(current_user, ids),
        mine=circular.my_receipts(current_user, ids),
        periods=circular.period_choices(today),
        period=period or circular.default_period(today),
        can_draft=authz.can(current_user, "circular.manage"),
    ), status


@bp.route("/circulars")
@login_required
def circular_list():
    return _list_page()


def _detail(c: Circular, status: int = 200, **extra):
    issuing = circular.is_issuing_side(current_user, c)
    receipts = circular.receipts(current_user, c) if c.status == "issued" else []
    return render_template(
        "reminders/circular_detail.html",
        c=c,
        as_of=circular.figures_as_of(c),
        issuing=issuing,
        receipts=receipts,
        not_read=[r for r in receipts if r.read_at is None],
        read_count=sum(1 for r in receipts if r.read_at),
        courts_read=len({r.unit_id for r in receipts if r.read_at}),
        courts=len({r.unit_id for r in receipts}),
        **extra,
    ), status


@bp.route("/circulars/<int:circular_id>")
@login_required
@writes_on_get  # an addressee's first opening is recorded: a write, so it takes the write lock from the start
def circular_detail(circular_id: int):
    c = circular.load_readable(circular_id, current_user)
    run_service(lambda: circular.mark_read(actor(), c, utcnow()))
    return _detail(c)


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
        return _detail(c, status, draft_body=request.form.get("body"))
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
        return _detail(c, status)
    flash("通报已印发，已通知通报涉及的各法院。", "success")
    return redirect(url_for("reminders.circular_detail", circular_id=c.id))


@bp.route("/circulars/<int:circular_id>.docx")
@login_required
def circular_docx(circular_id: int):
    c = circular.load_readable(circular_id, current_user)
    return send_file(
        io.BytesIO(circular.circular_docx(c)),
        mimetype=DOCX_MIME,
        as_attachment=True,
        download_name=f"月末通报_{c.period}.docx",
    )


@bp.route("/circulars/draft", methods=["POST"])
@login_required
def circular_draft():
    """The picked month's draft (default: the last complete month; on a month's last day,
    that month): opened at once if it exists, else made by a background job (its ranking
    reads every item of the province) whose page opens it when done."""
    authz.require(current_user, "circular.manage")
    unit = current_user.unit
    today = local_today()
    period = (request.form.get("period") or "").strip() or circular.default_period(today)
    try:
        circular.check_period(period, today)
    except ServiceError as exc:
        flash(exc.message, "danger")
        return _list_page(status=exc.status)
    existing = db.session.scalar(
        select(Circular).where(Circular.unit_id == unit.id, Circular.period == period)
    )
    if existing is not None:
        flash(f"{circular.period_label(period)}月末通报稿此前已生成。", "info")
        return redirect(url_for("reminders.circular_detail", circular_id=existing.id))
    params = {"unit_id": unit.id, "period": period}
    job, _status = run_service(
        lambda: jobs.enqueue_once(actor(), "reminders.circular", params, now=utcnow(), total=1)
    )
    if job is None:
        return redirect(url_for("reminders.circular_list"))
    return redirect(url_for("jobs.job_detail", job_id=job.id))
