"""完成清单: per unit, closed / open / overdue and the on-time rate; the high court's
审核确认; XLSX export and an A4 print view.

The XLSX of a scope with more than EXPORT_INLINE_ITEMS items is written by a background
job (app/tasks/jobs.py), every item in it, and downloaded from the job's page; a
smaller one is answered at once, as before."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.extensions import begin_writes, db
from app.org.models import Unit
from app.tasks import bp, services
from app.tasks import jobs as task_jobs
from app.tasks.export import completion_period, completion_xlsx, item_values, rate_text
from app.tasks.forms import CompletionReviewForm
from app.tasks.helpers import arg_int, parse_date, visible_projects
from app.tasks.models import Project
from app.tasks.queries import completion_items, completion_items_query, completion_rows, stream
from app.timeutil import local_today, utcnow
from app.views_util import actor, run_service


def _params():
    unit_id = arg_int("unit") or current_user.unit_id
    root = authz.get_scoped_or_404(Unit, unit_id, "completion.view", current_user)
    project_id = arg_int("project")
    project = (
        authz.get_scoped_or_404(Project, project_id, "project.view", current_user) if project_id else None
    )
    return root, project, parse_date(request.args.get("from")), parse_date(request.args.get("to"))


def _scope(project, date_from, date_to) -> dict:
    """The list's project and period, as the queries take them."""
    return {"project_id": project.id if project else None, "date_from": date_from, "date_to": date_to}


def _rows(root, project, date_from, date_to):
    return completion_rows(current_user, root, local_today(), **_scope(project, date_from, date_to))


@bp.route("/completion")
@login_required
def completion():
    root, project, date_from, date_to = _params()
    rows = _rows(root, project, date_from, date_to)
    return render_template(
        "tasks/completion.html",
        root=root,
        project=project,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        projects=visible_projects(current_user),
        rate_text=rate_text,
        review_form=CompletionReviewForm(),
    )


@bp.route("/completion.xlsx")
@login_required
def completion_export():
    root, project, date_from, date_to = _params()
    rows = _rows(root, project, date_from, date_to)
    if sum(r.total for r in rows) > task_jobs.inline_limit():
        db.session.rollback()  # the reads so far; what follows writes (a GET that queues a job)
        begin_writes()
        job, _ = run_service(
            lambda: task_jobs.queue_completion_export(actor(), root, project, date_from, date_to)
        )
        if job is None:
            return redirect(url_for("tasks.completion", **request.args), 303)
        return redirect(url_for("jobs.job_detail", job_id=job.id), 303)
    scope = _scope(project, date_from, date_to)
    items = stream(item_values(completion_items_query(current_user, root, local_today(), **scope)))
    title = f"{root.name}完成清单"
    period = completion_period(project.name if project else None, date_from, date_to)
    data = completion_xlsx(title, rows, items, local_today(), period=period)
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


@bp.route("/completion/print")
@login_required
def completion_print():
    root, project, date_from, date_to = _params()
    rows = _rows(root, project, date_from, date_to)
    scope = _scope(project, date_from, date_to)
    items = {r.unit.id: completion_items(current_user, r.unit, local_today(), **scope) for r in rows}
    if rows and rows[0].unit.id == root.id:  # root's own items only, not its whole subtree
        items[root.id] = [a for a in items[root.id] if a.unit_id == root.id]
    return render_template(
        "tasks/completion_print.html",
        root=root,
        project=project,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        items=items,
        rate_text=rate_text,
        today=local_today(),
    )


@bp.route("/completion/review", methods=["POST"])
@login_required
def completion_review():
    root, project, date_from, date_to = _params()
    form = CompletionReviewForm()
    back = url_for("tasks.completion", **request.args)
    if not form.validate_on_submit():
        flash("请选择审核结论。", "danger")
        return redirect(back), 303
    unit = authz.get_scoped_or_404(Unit, form.unit_id.data, "completion.review", current_user)
    ok, status = run_service(
        lambda: services.review_completion(
            actor(),
            unit,
            decision=form.decision.data,
            comment=form.comment.data,
            project=project,
            period_from=date_from,
            period_to=date_to,
            now=utcnow(),
        )
    )
    if ok:
        flash(
            f"已{'审核确认' if form.decision.data == 'confirmed' else '退回'}“{unit.name}”的完成清单。",
            "success",
        )
        return redirect(back)
    return completion(), status
