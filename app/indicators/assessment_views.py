"""Pages of the assessment periods: list, open, compute, publish, results (XLSX, DOCX),
and the period's meeting with its decisions turned into items."""

from __future__ import annotations

import io
from datetime import date

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.errors import parse_version
from app.extensions import db, writes_on_get
from app.indicators import assessments as svc
from app.indicators import bp, forms
from app.indicators.export import results_docx, results_xlsx
from app.indicators.models import (
    ASSESSMENT_STATUSES,
    COMPONENTS,
    MEETING_KINDS,
    PERIOD_KINDS,
    Assessment,
    Meeting,
    MeetingDecision,
)
from app.org.models import Unit, User
from app.tasks.helpers import assignable_units, units_by_ids, visible_projects
from app.tasks.models import Project, Task
from app.timeutil import local_today, utcnow
from app.views_util import actor, form_status, run_service


def _load(assessment_id: int, action: str = "assessment.view") -> Assessment:
    return authz.get_scoped_or_404(Assessment, assessment_id, action, current_user)


@bp.route("/assessments")
@login_required
def assessment_list():
    authz.require(current_user, "assessment.list")
    stmt = authz.scope(select(Assessment), Assessment, current_user)
    rows = list(
        db.session.scalars(stmt.order_by(Assessment.year.desc(), Assessment.created_at.desc()).limit(200))
    )
    return render_template(
        "indicators/assessment_list.html",
        rows=rows,
        statuses=ASSESSMENT_STATUSES,
        kinds=PERIOD_KINDS,
        may_open_assessment=authz.can(current_user, "assessment.create", current_user.unit),
    )


@bp.route("/assessments/new", methods=["GET", "POST"])
@login_required
def assessment_new():
    unit = current_user.unit
    authz.require(current_user, "assessment.create", unit)
    today = local_today()
    form = forms.AssessmentForm()
    if request.method == "GET":
        form.year.data = today.year
        form.kind.data, form.number.data = "quarter", max(1, (today.month - 1) // 3 + 1)
        form.level.data = "base" if unit.level == "intermediate" else "intermediate"
    status = 200
    if form.validate_on_submit():
        scheme = {k: getattr(form, f"w_{k}").data for k in COMPONENTS}
        a, status = run_service(
            lambda: svc.open_assessment(
                actor(),
                unit,
                kind=form.kind.data,
                year=form.year.data,
                number=form.number.data,
                level=form.level.data,
                scheme=scheme,
                today=today,
                now=utcnow(),
            ),
            form,
        )
        if a:
            flash(f"已开启“{a.title}”，请计算得分。", "success")
            return redirect(url_for("indicators.assessment_detail", assessment_id=a.id))
    return render_template(
        "indicators/assessment_form.html", form=form, components=COMPONENTS, unit=unit
    ), max(status, form_status(form))


@bp.route("/assessments/<int:assessment_id>")
@login_required
@writes_on_get  # an assessed court's first opening is recorded (a receipt): a write
def assessment_detail(assessment_id: int):
    a = _load(assessment_id)
    run_service(lambda: svc.mark_read(actor(), a, utcnow()))
    return _detail_page(a)


def _detail_page(a: Assessment, status: int = 200, recompute_form=None):
    manager = authz.can(current_user, "assessment.recompute", a)
    shown = svc.published_run(a)
    if manager and a.runs:
        shown = a.runs[-1]  # the reviewers review the latest run before publishing it
    which = request.args.get("run", type=int)
    if which and manager:
        shown = next((r for r in a.runs if r.number == which), shown)
    people = {
        u.id: u.display_name
        for u in db.session.scalars(
            select(User).where(User.id.in_({r.computed_by_id for r in a.runs} | {a.published_by_id or 0}))
        )
    }
    meeting = db.session.scalar(select(Meeting).where(Meeting.assessment_id == a.id))
    form = recompute_form or forms.RecomputeForm(formdata=None)
    form.version.data = a.version
    receipts = svc.receipts(current_user, a) if a.status == "published" else []
    return render_template(
        "indicators/assessment_detail.html",
        a=a,
        receipts=receipts,
        not_read=[r for r in receipts if r.read_at is None],
        read_count=sum(1 for r in receipts if r.read_at),
        run=shown,
        manager=manager,
        people=people,
        components=COMPONENTS,
        kinds=PERIOD_KINDS,
        statuses=ASSESSMENT_STATUSES,
        meeting=meeting,
        meeting_kind=MEETING_KINDS[a.kind],
        visible=authz.visible_unit_ids(current_user),
        form=form,
        may_meet=authz.can(current_user, "meeting.manage", a),
    ), status


@bp.route("/assessments/<int:assessment_id>/compute", methods=["POST"])
@login_required
def assessment_compute(assessment_id: int):
    a = _load(assessment_id, "assessment.recompute")
    form = forms.RecomputeForm()
    if not form.validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return _detail_page(a, 400, form)
    run, status = run_service(
        lambda: svc.compute(
            actor(),
            a,
            reason=form.reason.data,
            expected_version=parse_version(form.version.data),
            today=local_today(),
            now=utcnow(),
        ),
        form,
        versioned=a,
    )
    if run is None:
        return _detail_page(a, status, form)
    flash(f"已计算得分（第 {run.number} 版），请审核后发布。", "success")
    return redirect(url_for("indicators.assessment_detail", assessment_id=a.id))


@bp.route("/assessments/<int:assessment_id>/publish", methods=["POST"])
@login_required
def assessment_publish(assessment_id: int):
    a = _load(assessment_id, "assessment.recompute")
    form = forms.RecomputeForm()
    if not form.validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return _detail_page(a, 400)
    n, status = run_service(
        lambda: svc.publish(actor(), a, expected_version=parse_version(form.version.data), now=utcnow()),
        versioned=a,
    )
    if n is None:
        return _detail_page(a, status)
    flash(f"已发布第 {a.published_version} 版结果，已通知被考评法院 {n} 人。", "success")
    return redirect(url_for("indicators.assessment_detail", assessment_id=a.id))


def _export_run(a: Assessment):
    """What an export shows: the published run; for its reviewers before publication, the latest."""
    run = svc.published_run(a)
    if run is None and authz.can(current_user, "assessment.recompute", a) and a.runs:
        run = a.runs[-1]
    return run


@bp.route("/assessments/<int:assessment_id>.xlsx")
@login_required
def assessment_xlsx(assessment_id: int):
    a = _load(assessment_id)
    run = _export_run(a)
    if run is None:
        flash("该考评还没有结果可导出。", "warning")
        return redirect(url_for("indicators.assessment_detail", assessment_id=a.id))
    body = results_xlsx(a, run, today=local_today())
    return send_file(
        io.BytesIO(body),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{a.title}-第{run.number}版.xlsx",
    )


@bp.route("/assessments/<int:assessment_id>.docx")
@login_required
def assessment_docx(assessment_id: int):
    a = _load(assessment_id)
    run = _export_run(a)
    if run is None:
        flash("该考评还没有结果可导出。", "warning")
        return redirect(url_for("indicators.assessment_detail", assessment_id=a.id))
    unit = db.session.get(Unit, a.unit_id)
    body = results_docx(a, run, unit=unit, today=local_today())
    return send_file(
        io.BytesIO(body),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        as_attachment=True,
        download_name=f"{a.title}通报-第{run.number}版.docx",
    )


# ---------------------------------------------------------------- the meeting


@bp.route("/assessments/<int:assessment_id>/meeting", methods=["GET", "POST"])
@login_required
def assessment_meeting(assessment_id: int):
    a = _load(assessment_id)
    meeting = db.session.scalar(select(Meeting).where(Meeting.assessment_id == a.id))
    may_edit = authz.can(current_user, "meeting.manage", a)
    form = forms.MeetingForm(obj=meeting) if meeting else forms.MeetingForm()
    if request.method == "GET" and meeting is not None:
        form.decisions.data = "\n".join(d.text for d in meeting.decisions)
        form.version.data = meeting.version
    if request.method == "GET" and meeting is None:
        form.held_on.data = local_today()
    status = 200
    if request.method == "POST":
        authz.require(current_user, "meeting.manage", a)
        if form.validate_on_submit():
            saved, status = run_service(
                lambda: svc.save_meeting(
                    actor(),
                    a,
                    meeting,
                    held_on=form.held_on.data,
                    attendees=form.attendees.data,
                    analysis=form.analysis.data,
                    decisions=form.decisions.data,
                    expected_version=parse_version(form.version.data) if meeting else None,
                    now=utcnow(),
                ),
                form,
                versioned=meeting,
            )
            if saved:
                flash("已保存会议记录。", "success")
                return redirect(url_for("indicators.assessment_meeting", assessment_id=a.id))
        status = max(status, form_status(form))
    return _meeting_page(a, meeting, form, may_edit, status)


def _meeting_page(a: Assessment, meeting: Meeting | None, form, may_edit: bool, status: int):
    previous = svc.previous_meeting(meeting, a)
    decisions = list(meeting.decisions) if meeting else []
    progress = svc.decision_progress(decisions + (list(previous.decisions) if previous else []))
    tasks = {
        t.id: t
        for t in db.session.scalars(
            select(Task).where(
                Task.id.in_(
                    [d.task_id for d in decisions + (previous.decisions if previous else []) if d.task_id]
                    or [0]
                )
            )
        )
    }
    return render_template(
        "indicators/meeting.html",
        a=a,
        meeting=meeting,
        meeting_kind=MEETING_KINDS[a.kind],
        form=form,
        may_edit=may_edit,
        previous=previous,
        progress=progress,
        tasks=tasks,
        projects=visible_projects(current_user) if may_edit else [],
        units=assignable_units(current_user) if may_edit else {},
        today=local_today(),
    ), status


@bp.route("/assessments/decisions/<int:decision_id>/assign", methods=["POST"])
@login_required
def decision_assign(decision_id: int):
    decision = db.get_or_404(MeetingDecision, decision_id)
    meeting = db.session.get(Meeting, decision.meeting_id)
    a = _load(meeting.assessment_id)
    authz.require(current_user, "meeting.manage", a)
    form = forms.RecomputeForm()  # CSRF only
    back = redirect(url_for("indicators.assessment_meeting", assessment_id=a.id))
    if not form.validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return _refused(a, meeting, 400)
    project_id = request.form.get("project_id", type=int)
    project = (
        authz.get_scoped_or_404(Project, project_id, "project.add_task", current_user) if project_id else None
    )
    if project is None:
        flash("请选择事项所属的项目。", "danger")
        return _refused(a, meeting, 400)
    asked = request.form.getlist("unit_ids", type=int)
    allowed = assignable_units(current_user)
    if any(i not in allowed for i in asked):
        flash("所选责任单位不在您的下级单位范围内（或已停用），未交办。", "danger")
        return _refused(a, meeting, 400)
    unit_ids = list(dict.fromkeys(asked))
    try:
        deadline = date.fromisoformat(request.form.get("deadline", ""))
    except ValueError:
        deadline = None
    task, status = run_service(
        lambda: svc.decision_to_item(
            actor(),
            decision,
            project=project,
            units=units_by_ids(unit_ids),
            deadline=deadline,
            requirements=request.form.get("requirements"),
            today=local_today(),
            now=utcnow(),
        )
    )
    if task is None:
        return _refused(a, meeting, status)
    flash(f"议定事项第 {decision.number} 项已交办给 {len(unit_ids)} 个单位。", "success")
    return back


def _refused(a: Assessment, meeting: Meeting, status: int):
    form = forms.MeetingForm(formdata=None, obj=meeting)
    form.decisions.data = "\n".join(d.text for d in meeting.decisions)
    form.version.data = meeting.version
    return _meeting_page(a, meeting, form, True, status)
