"""Assignment pages: the list, my work, one assignment and every action on it."""

from __future__ import annotations

import io

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import attachments, authz
from app.conflicts import conflict_page
from app.deadlines import LIGHTS
from app.errors import Conflict, parse_version
from app.extensions import begin_writes, db
from app.org.models import Unit
from app.savedviews.sidebar import with_saved_views
from app.sqlutil import paginate_by_id
from app.tasks import bp, detail, list_export, services
from app.tasks import jobs as task_jobs
from app.tasks.forms import (
    RECTIFICATION_REVIEW_CHOICES,
    BulkForm,
    DecideExtensionForm,
    ExtensionForm,
    ReportForm,
    ReviewForm,
    SplitForm,
    StepForm,
)
from app.tasks.helpers import (
    assignable_units,
    categories,
    filter_people,
    filter_units,
    filters_from_args,
    units_by_ids,
    visible_projects,
)
from app.tasks.models import STATUSES, Assignment, AssignmentStep, ExtensionRequest
from app.tasks.queries import (
    assignment_ids_query,
    assignments_by_id,
    assignments_query,
    light,
    my_work,
)
from app.timeutil import local_today, utcnow
from app.views_util import actor, page_args, refuse_stale, run_service

STATUS_FILTERS = {
    "open": "未办结",
    "overdue": "逾期",
    "due_soon": "临期（7天内）",
    "on_time": "按期办结",
    "due": "已办结或逾期（计入按期率）",
    **STATUSES,
}
KIND_FILTERS = {"task": "清单事项", "rectification": "整改事项"}


@bp.route("/assignments")
@login_required
@with_saved_views("assignments")  # 我的查询 (issue 15)
def assignment_list():
    f = filters_from_args()
    today = local_today()
    page, size = page_args()
    pagination = paginate_by_id(
        None,
        assignment_ids_query(current_user, f, today),
        Assignment,
        page=page,
        per_page=size,
        by_id=assignments_by_id(),
    )
    bulk = BulkForm()
    return render_template(
        "tasks/assignment_list.html",
        pagination=pagination,
        f=f,
        today=today,
        light=light,
        bulk=bulk,
        projects=visible_projects(current_user),
        categories=categories(),
        status_filters=STATUS_FILTERS,
        kind_filters=KIND_FILTERS,
        lights=LIGHTS,
        units=filter_units(current_user, f.unit_id),
        people=filter_people(current_user, f.unit_id, f.responsible_id),
    )


@bp.route("/assignments.xlsx")
@login_required
def assignment_export():
    """The list as filtered on the page, every row (no cap), in the list's order."""
    f = filters_from_args()
    today = local_today()
    unit = db.session.get(Unit, f.unit_id) if f.unit_id else None
    root = unit if unit is not None and authz.sees(current_user, unit) else current_user.unit
    title = f"{root.name}承办事项"
    if list_export.more_than(assignment_ids_query(current_user, f, today), task_jobs.inline_limit()):
        # more than a request should write: a background job, every row, with a progress bar
        db.session.rollback()  # the reads so far; what follows writes (a GET that queues a job)
        begin_writes()
        job, _ = run_service(lambda: task_jobs.queue_list_export(actor(), f, title))
        if job is None:
            return redirect(url_for("tasks.assignment_list", **request.args), 303)
        return redirect(url_for("jobs.job_detail", job_id=job.id), 303)
    file, count = list_export.spooled(
        assignments_query(current_user, f, today), title=title, today=today, period=list_export.period_of(f)
    )
    filters = {k: v for k, v in request.args.items() if k not in ("page", "size")}
    g.audit_detail = {"rows": count, "filters": filters}  # on the export's own audit row
    return list_export.download(file, list_export.file_name(title, today))


@bp.route("/assignments/bulk", methods=["POST"])
@login_required
def assignment_bulk():
    """Bulk 催办 / 延期 on the selected rows (each row still checked by the policy)."""
    form = BulkForm()
    if not form.validate_on_submit() or not form.ids.data:
        flash("请先勾选事项，并选择批量操作。", "danger")
        return redirect(request.referrer or url_for("tasks.assignment_list")), 303
    rows = list(
        db.session.scalars(
            authz.scope(select(Assignment), Assignment, current_user).where(Assignment.id.in_(form.ids.data))
        )
    )
    if form.action.data == "extend" and not form.new_deadline.data:
        flash("批量延期须填写新的完成时限。", "danger")
        return redirect(request.referrer or url_for("tasks.assignment_list")), 303

    def apply():
        done = 0
        for a in rows:
            if form.action.data == "remind":
                services.remind(actor(), a, message=form.message.data, now=utcnow())
            else:
                services.extend_directly(
                    actor(),
                    a,
                    new_deadline=form.new_deadline.data,
                    reason=form.message.data or "批量延期",
                    expected_version=request.form.get(f"version-{a.id}"),
                    now=utcnow(),
                )
            done += 1
        return done

    if form.action.data == "extend":
        # A row changed since the list was loaded: its page says what changed (all or nothing).
        posted = {a.id: parse_version(request.form.get(f"version-{a.id}")) for a in rows}
        stale = next((a for a in rows if posted[a.id] not in (None, a.version)), None)
        if stale is not None:
            return conflict_page(Conflict(obj=stale), form, reapply=False)
    done, status = run_service(apply)
    if done is not None:
        flash(f"已{'催办' if form.action.data == 'remind' else '延期'} {done} 项。", "success")
    return redirect(request.referrer or url_for("tasks.assignment_list")), 303


@bp.route("/my")
@login_required
def my_work_page():
    today = local_today()
    return render_template("tasks/my_work.html", work=my_work(current_user, today), today=today, light=light)


def _forms(a: Assignment) -> dict:
    """The page's forms, each carrying the version the page shows (a posted one wins)."""
    split_form = SplitForm(version=a.version)
    split_form.unit_ids.choices = (
        assignable_units(current_user) if authz.can(current_user, "assignment.split", a) else {}
    )
    review_form = ReviewForm(version=a.version)
    if a.task.kind == "rectification":
        review_form.decision.choices = RECTIFICATION_REVIEW_CHOICES
    return dict(
        report_form=ReportForm(version=a.version),
        review_form=review_form,
        extension_form=ExtensionForm(version=a.version),
        decide_form=DecideExtensionForm(version=a.version),
        step_form=StepForm(version=a.version),
        split_form=split_form,
    )


def _detail_context(a: Assignment, **extra) -> dict:
    """Everything the page shows, in a fixed number of statements however long the
    history (app/tasks/detail.py); `extra`: what a refused action adds (the split's
    confirmation)."""
    from app.discussion import queries as discussion  # imports this module's package

    children, waiting = detail.load_page(a, current_user)
    reports, steps = detail.reports(a), detail.steps(a)
    report_files, step_files = detail.files(a, reports, steps)
    timeline, users = detail.timeline(a)
    returns = [e for e in timeline if e.action == "review.return"]
    return dict(
        a=a,
        reports=reports,
        steps=steps,
        extensions=detail.extension_requests(a),
        children=children,
        today=local_today(),
        light=light,
        report_files=report_files,
        step_files=step_files,
        **_forms(a),
        loaded_at=utcnow().isoformat(),  # for the conflict page's "since"
        timeline=timeline,
        users=users,
        return_reason=(returns[-1].after or {}).get("comment")
        if returns and a.status == "returned"
        else None,
        visit=detail.visit_of(a),
        waiting=waiting,
        discussion=discussion.panel(a, current_user),  # issue 15: comments and 关注
        **{"held": None, **extra},
    )


@bp.route("/assignments/<int:assignment_id>")
@login_required
def assignment_detail(assignment_id: int):
    a = authz.get_scoped_or_404(Assignment, assignment_id, "assignment.view", current_user)
    return render_template("tasks/assignment_detail.html", **_detail_context(a))


def _act(
    assignment_id: int, action: str, fn, form=None, success: str = "已保存。", refused: dict | None = None
):
    """Load → a stale page ends on the conflict page → check → validate the form → one
    service (which checks the version too) → commit → redirect (or 4xx page, showing
    what the service left in `refused`)."""
    a = authz.get_scoped_or_404(Assignment, assignment_id, "assignment.view", current_user)
    refuse_stale(a, form)
    authz.require(current_user, action, a)
    if form is not None and not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "danger")
        return render_template("tasks/assignment_detail.html", **_detail_context(a)), 400
    result, status = run_service(lambda: fn(a), form, versioned=a)
    if result is None:
        page = _detail_context(a, **(refused or {}))
        return render_template("tasks/assignment_detail.html", **page), status
    flash(success, "success")
    return redirect(url_for("tasks.assignment_detail", assignment_id=a.id))


@bp.route("/assignments/<int:assignment_id>/acknowledge", methods=["POST"])
@login_required
def assignment_acknowledge(assignment_id: int):
    return _act(
        assignment_id,
        "assignment.acknowledge",
        lambda a: services.acknowledge(
            actor(), a, expected_version=request.form.get("version"), now=utcnow()
        ),
        success="已签收。",
    )


@bp.route("/assignments/<int:assignment_id>/report", methods=["POST"])
@login_required
def assignment_report(assignment_id: int):
    form = ReportForm()
    return _act(
        assignment_id,
        "assignment.report",
        lambda a: services.add_report(
            actor(),
            a,
            text=form.text.data,
            percent=form.percent.data,
            files=request.files.getlist("files"),
            submit=form.submit_for_review.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        form,
        success="已提交审核。" if form.submit_for_review.data else "已反馈进度。",
    )


@bp.route("/assignments/<int:assignment_id>/review", methods=["POST"])
@login_required
def assignment_review(assignment_id: int):
    form = ReviewForm()
    return _act(
        assignment_id,
        "assignment.review",
        lambda a: services.review(
            actor(),
            a,
            decision=form.decision.data,
            comment=form.comment.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        form,
        success=_review_done(assignment_id, form.decision.data),
    )


def _review_done(assignment_id: int, decision: str) -> str:
    if decision != "approve":
        return "已退回。"
    a = db.session.get(Assignment, assignment_id)
    return "已销号。" if a is not None and a.task.kind == "rectification" else "已办结。"


@bp.route("/assignments/<int:assignment_id>/extension", methods=["POST"])
@login_required
def assignment_extension(assignment_id: int):
    form = ExtensionForm()
    return _act(
        assignment_id,
        "assignment.request_extension",
        lambda a: services.request_extension(
            actor(),
            a,
            new_deadline=form.new_deadline.data,
            reason=form.reason.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        form,
        success="已提交延期申请。",
    )


@bp.route("/extensions/<int:request_id>/decide", methods=["POST"])
@login_required
def extension_decide(request_id: int):
    req = db.get_or_404(ExtensionRequest, request_id)
    form = DecideExtensionForm()
    return _act(
        req.assignment_id,
        "assignment.decide_extension",
        lambda a: services.decide_extension(
            actor(),
            req,
            grant=form.decision.data == "grant",
            comment=form.comment.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        form,
        success="已处理延期申请。",
    )


@bp.route("/assignments/<int:assignment_id>/remind", methods=["POST"])
@login_required
def assignment_remind(assignment_id: int):
    return _act(
        assignment_id,
        "assignment.remind",
        lambda a: services.remind(actor(), a, message=request.form.get("message", "")[:500], now=utcnow()),
        success="已催办。",
    )


@bp.route("/assignments/<int:assignment_id>/split", methods=["POST"])
@login_required
def assignment_split(assignment_id: int):
    """分解. A chosen unit that already holds the item: the page comes back (409) showing
    what it holds, with a form posting the same choice again with 仍要分解."""
    form = SplitForm()
    form.unit_ids.choices = assignable_units(current_user)
    refused: dict = {}

    def split(a: Assignment):
        try:
            return services.split_assignment(
                actor(),
                a,
                units_by_ids(form.unit_ids.data or []),
                expected_version=form.version.data,
                now=utcnow(),
                confirmed=bool(form.confirm.data),
            )
        except services.AlreadyHeld as exc:
            refused["held"] = {"rows": exc.existing, "unit_ids": list(form.unit_ids.data or [])}
            raise

    return _act(assignment_id, "assignment.split", split, form, success="已分解到下级单位。", refused=refused)


@bp.route("/assignments/<int:assignment_id>/steps", methods=["POST"])
@login_required
def assignment_step_add(assignment_id: int):
    form = StepForm()
    return _act(
        assignment_id,
        "assignment.steps",
        lambda a: services.add_step(
            actor(),
            a,
            kind=form.kind.data,
            title=form.title.data,
            due=form.due.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        form,
    )


@bp.route("/steps/<int:step_id>/toggle", methods=["POST"])
@login_required
def step_toggle(step_id: int):
    step = db.get_or_404(AssignmentStep, step_id)
    return _act(
        step.assignment_id,
        "assignment.steps",
        lambda a: services.toggle_step(
            actor(),
            step,
            done=request.form.get("done") == "1",
            files=request.files.getlist("files"),
            expected_version=request.form.get("version"),
            now=utcnow(),
        ),
    )


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    att = authz.get_scoped_or_404(attachments.Attachment, attachment_id, "attachment.view", current_user)
    thumb = request.args.get("thumb") == "1"
    if thumb and not att.has_thumbnail:
        abort(404)
    path = attachments.path_of(att, thumbnail=thumb)
    if not path.exists():
        abort(404)
    inline = att.is_image or att.content_type == "application/pdf"
    # Read into memory (files are ≤ 10 MB): a client that hangs up mid-download then
    # can't leave a file handle open in the worker.
    return send_file(
        io.BytesIO(path.read_bytes()),
        mimetype="image/jpeg" if thumb else att.content_type,
        as_attachment=not inline,
        download_name=att.original_name,
    )
