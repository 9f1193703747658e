"""催办单 pages: compose one on overdue items, the list, and one notice with its receipts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.extensions import db, writes_on_get
from app.reminders import bp, urge
from app.reminders.models import UrgeNotice
from app.tasks.models import Assignment
from app.textclean import db_int
from app.timeutil import local_today, utcnow
from app.views_util import actor, run_service

DEFAULT_MESSAGE = "以下事项已超过完成时限，请于收到本催办单后尽快办理并反馈办理情况。"


def _ids(raw: list[str]) -> list[int]:
    out = []
    for part in raw:
        for piece in part.split(","):
            try:
                out.append(db_int(piece))  # an id that fits the database, else skipped
            except ValueError:
                continue
    return list(dict.fromkeys(out))


def _new_page(selected: list[int], message: str, status: int = 200):
    return render_template(
        "reminders/urge_new.html",
        items=urge.urgeable_assignments(current_user, local_today()),
        selected=set(selected),
        message=message,
        today=local_today(),
    ), status


@bp.route("/urge/new")
@login_required
def urge_new():
    if not authz.can(current_user, "urge.compose"):
        abort(403)  # a tribunal head, staff, administrators: nobody they could chase
    return _new_page(_ids(request.args.getlist("ids")), DEFAULT_MESSAGE)


@bp.route("/urge", methods=["POST"])
@login_required
def urge_create():
    ids = _ids(request.form.getlist("ids"))
    message = request.form.get("message", "")
    rows = list(
        db.session.scalars(
            authz.scope(select(Assignment), Assignment, current_user).where(Assignment.id.in_(ids))
        )
    )
    if len(rows) != len(ids):
        abort(404)
    notice, status = run_service(lambda: urge.send_urge(actor(), rows, message, utcnow()))
    if notice is None:
        if status == 403:
            abort(403)
        return _new_page(ids, message, status)
    flash(f"已发出催办单 {notice.number}。", "success")
    return redirect(url_for("reminders.urge_detail", notice_id=notice.id))


@bp.route("/urge")
@login_required
def urge_list():
    return render_template(
        "reminders/urge_list.html",
        notices=urge.visible_notices(current_user),
        may_compose=authz.can(current_user, "urge.compose"),
    )


@bp.route("/urge/<int:notice_id>")
@login_required
@writes_on_get  # marks the notice read: a write, so it takes the write lock from the start
def urge_detail(notice_id: int):
    notice = authz.get_scoped_or_404(UrgeNotice, notice_id, "urge.view", current_user)
    run_service(lambda: urge.mark_read(actor(), notice, utcnow()))
    sender_side = urge.is_sender_side(current_user, notice)
    return render_template(
        "reminders/urge_detail.html",
        notice=notice,
        items=urge.notice_items(notice),
        receipts=urge.receipts(notice) if sender_side else [],
        sender_side=sender_side,
        today=local_today(),
    )
