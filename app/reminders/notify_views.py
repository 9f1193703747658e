"""The notification centre (list, read, open), e-mail preferences and unit e-mail muting."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import RadioField

from app import authz
from app.checklists.models import ChecklistEntry
from app.extensions import db, writes_on_get
from app.forms import BaseForm
from app.notifications import Notification
from app.org.models import Unit, User
from app.reminders import bp, prefs
from app.tasks.models import Assignment
from app.timeutil import utcnow
from app.views_util import actor, form_status, page_args, run_service


class PreferencesForm(BaseForm):
    email_mode = RadioField("邮件提醒方式", choices=dict(prefs.EMAIL_MODES))


@bp.app_context_processor
def inject_unread() -> dict:
    """`unread_notifications()` for the top bar: counted lazily, at most once per request."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        if "_unread_notifications" not in g:
            g._unread_notifications = prefs.unread_count(current_user.id)
        return g._unread_notifications

    return {"unread_notifications": unread_notifications}


# Shared by every list and item page of assignments (tasks/_macros.html). Registered
# here for now; its natural home is app.register_template_helpers.


def _mine_or_404(notification_id: int) -> Notification:
    """Someone else's notification is hidden: 404, decided in SQL."""
    n = db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.recipient_id == current_user.id
        )
    )
    if n is None:
        abort(404)
    return n


def subject_url(n: Notification) -> str | None:
    """Where a notification points: the assignment, the item, the circular, or the
    checklist entry."""
    if n.subject_type == "Circular":
        return url_for("reminders.circular_detail", circular_id=n.subject_id)
    if n.subject_type == "Assignment":
        return url_for("tasks.assignment_detail", assignment_id=n.subject_id)
    if n.subject_type == "Task":
        # a new item: the recipient's court's own assignment of it, to sign for; else the item
        held = db.session.scalar(
            select(Assignment.id)
            .join(User, User.unit_id == Assignment.unit_id)
            .where(Assignment.task_id == n.subject_id, User.id == n.recipient_id)
            .order_by(Assignment.deadline, Assignment.id)
            .limit(1)
        )
        if held is not None:
            return url_for("tasks.assignment_detail", assignment_id=held)
        return url_for("tasks.task_detail", task_id=n.subject_id)
    if n.subject_type == "ChecklistEntry":
        checklist_id = db.session.scalar(
            select(ChecklistEntry.checklist_id).where(ChecklistEntry.id == n.subject_id)
        )
        if checklist_id is not None:
            return url_for(
                "checklists.checklist_detail", checklist_id=checklist_id, _anchor=f"e{n.subject_id}"
            )
    if n.subject_type == "IndicatorWarning":
        return url_for("indicators.warnings_page")
    if n.subject_type == "Assessment":
        return url_for("indicators.assessment_detail", assessment_id=n.subject_id)
    return None


@bp.route("/notifications")
@login_required
def notification_list():
    page, size = page_args(30)
    stmt = (
        select(Notification)
        .where(Notification.recipient_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    pagination = db.paginate(stmt, page=page, per_page=size, error_out=False)
    return render_template("reminders/notifications.html", pagination=pagination)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def notification_read(notification_id: int):
    n = _mine_or_404(notification_id)
    run_service(lambda: prefs.mark_read(n, now=utcnow()))
    return redirect(url_for("reminders.notification_list"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def notification_read_all():
    count, _ = run_service(lambda: prefs.mark_all_read(actor(), now=utcnow()))
    flash(f"已将 {count or 0} 条通知标为已读。", "success")
    return redirect(url_for("reminders.notification_list"))


@bp.route("/notifications/<int:notification_id>/open")
@login_required
@writes_on_get  # marks the notice read: a write, so it takes the write lock from the start
def notification_open(notification_id: int):
    """Mark read, then go to the item (the item page applies its own access check)."""
    n = _mine_or_404(notification_id)
    run_service(lambda: prefs.mark_read(n, now=utcnow()))
    target = subject_url(n)
    if target is None:
        flash("该通知关联的事项已不存在。", "warning")
        return redirect(url_for("reminders.notification_list"))
    return redirect(target)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def notification_preferences():
    me = actor()
    form = PreferencesForm(data={"email_mode": me.email_mode})
    if form.validate_on_submit():
        changed, status = run_service(
            lambda: prefs.set_email_mode(me, me, form.email_mode.data, now=utcnow())
        )
        if status == 200:
            flash("通知设置已保存。" if changed else "通知设置未变化。", "success")
            return redirect(url_for("reminders.notification_preferences"))
    return render_template(
        "reminders/preferences.html", form=form, unit_muted=me.unit.email_muted
    ), form_status(form)


@bp.route("/admin/units/<int:unit_id>/email-mute", methods=["POST"])
@login_required
def unit_email_mute(unit_id: int):
    """An administrator switches reminder e-mail for a unit in scope off or on."""
    unit = authz.get_scoped_or_404(Unit, unit_id, "unit.mute", current_user)
    muted, status = run_service(lambda: prefs.toggle_unit_mute(actor(), unit, now=utcnow()))
    if status == 200:
        flash(f"已{'停止' if muted else '恢复'}向{unit.name}人员发送提醒邮件。", "success")
    return redirect(url_for("org.unit_detail", unit_id=unit.id))
