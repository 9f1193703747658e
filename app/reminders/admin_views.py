"""Reminder administration: the rules, the working-day calendar's overrides and the
sweep's runs (admins only)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.extensions import db
from app.reminders import bp, rules, runlog, workdays
from app.reminders.models import CalendarOverride, ReminderRule, SweepRun
from app.reminders.sweep import run_sweep
from app.timeutil import local_today, utcnow
from app.views_util import actor, run_service


def _admin() -> None:
    authz.require(current_user, "reminders.admin")


def _int_or_none(name: str) -> int | None | str:
    """The form field as an int, None when empty, or the raw text when it is not a number."""
    raw = request.form.get(name, "").strip()
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def _rules_page(status: int = 200):
    return render_template("reminders/rules.html", groups=rules.rules_by_item_type()), status


@bp.route("/admin/reminders/rules")
@login_required
def rules_list():
    _admin()
    return _rules_page()


@bp.route("/admin/reminders/rules/<int:rule_id>", methods=["POST"])
@login_required
def rule_update(rule_id: int):
    _admin()
    rule = db.session.get(ReminderRule, rule_id) or abort(404)
    days, repeat = _int_or_none("days"), _int_or_none("repeat_every")
    if isinstance(days, str) or isinstance(repeat, str):
        flash("天数和重复间隔须填写整数。", "danger")
        return _rules_page(400)
    result, status = run_service(
        lambda: rules.update_rule(
            actor(),
            rule,
            days=days,
            repeat_every=repeat,
            working_days=bool(request.form.get("working_days")),
            is_active=bool(request.form.get("is_active")),
            version=request.form.get("version"),
            now=utcnow(),
        )
    )
    if result is None:
        return _rules_page(status)
    flash(f"已保存：{result.label}", "success")
    return redirect(url_for("reminders.rules_list"))


def _calendar_page(status: int = 200, form: dict | None = None):
    today = local_today()
    missing = [
        (year, workdays.missing_year_message(year), workdays.statutory_days(year))
        for year in workdays.missing_calendar_years(today)
    ]
    return render_template(
        "reminders/calendar.html",
        overrides=rules.overrides(),
        days=rules.upcoming_days(today),
        missing=missing,
        missing_years=[year for year, _, _ in missing],
        official_through=workdays.last_official_year(),
        form=form or {},
    ), status


@bp.route("/admin/reminders/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    _admin()
    if request.method == "GET":
        return _calendar_page()
    form = request.form.to_dict()
    try:
        day = date.fromisoformat(form.get("day", ""))
    except ValueError:
        day = None
    result, status = run_service(
        lambda: rules.add_override(
            actor(),
            day=day,
            is_workday=form.get("kind") == "workday",
            note=form.get("note"),
            now=utcnow(),
        )
    )
    if result is None:
        return _calendar_page(status, form)
    flash(f"已将 {result.day.isoformat()} 设为{'工作日' if result.is_workday else '休息日'}。", "success")
    return redirect(url_for("reminders.calendar"))


@bp.route("/admin/reminders/calendar/<int:override_id>/delete", methods=["POST"])
@login_required
def calendar_delete(override_id: int):
    _admin()
    override = db.session.get(CalendarOverride, override_id) or abort(404)
    _, status = run_service(lambda: rules.delete_override(actor(), override, now=utcnow()))
    if status == 200:
        flash("已删除该日期的调整。", "success")
    return redirect(url_for("reminders.calendar"))


@bp.route("/admin/reminders/runs")
@login_required
def runs():
    _admin()
    rows = list(
        db.session.scalars(
            select(SweepRun).order_by(SweepRun.started_at.desc(), SweepRun.id.desc()).limit(100)
        )
    )
    return render_template(
        "reminders/runs.html",
        runs=rows,
        jobs=runlog.JOBS,
        triggers=runlog.TRIGGERS,
        count_items=runlog.count_items,
    )


@bp.route("/admin/reminders/run-now", methods=["POST"])
@login_required
def run_now():
    _admin()
    result, _ = run_service(lambda: run_sweep(local_today(), utcnow(), trigger="web"))
    if result is not None:
        line = runlog.sweep_summary(result.counts) + (
            f"（{result.skipped_reason}）" if result.skipped_reason else ""
        )
        flash(f"已运行提醒：{line}", "success")
    return redirect(url_for("reminders.runs"))
