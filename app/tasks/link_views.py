"""Links between items (依赖/相关) on the item page: add one, remove one."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user, login_required

from app import authz
from app.extensions import db
from app.tasks import bp, links
from app.tasks.forms import LinkForm
from app.tasks.models import Task, TaskLink
from app.timeutil import utcnow
from app.views_util import actor, run_service


@bp.route("/tasks/<int:task_id>/links", methods=["POST"])
@login_required
def task_link_add(task_id: int):
    task = authz.get_scoped_or_404(Task, task_id, "task.link", current_user)
    form = LinkForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "danger")
        return _back(task), 400
    # Another court's item is a 404, as it is everywhere: its title is never shown.
    other = authz.get_scoped_or_404(Task, form.other_id.data, "task.view", current_user)
    # No form given: a refusal (a cycle, a duplicate) is flashed above the item page.
    link, status = run_service(
        lambda: links.add_link(actor(), task, other, kind=form.kind.data, now=utcnow())
    )
    if link is None:
        return _back(task), status
    flash("已添加关联。", "success")
    return redirect(url_for("tasks.task_detail", task_id=task.id))


@bp.route("/tasks/<int:task_id>/links/<int:link_id>/delete", methods=["POST"])
@login_required
def task_link_remove(task_id: int, link_id: int):
    task = authz.get_scoped_or_404(Task, task_id, "task.link", current_user)
    link = db.session.get(TaskLink, link_id)
    if link is None or task.id not in (link.from_task_id, link.to_task_id):
        flash("该关联已不存在。", "warning")
        return _back(task), 404
    done, status = run_service(lambda: links.remove_link(actor(), task, link, now=utcnow()) or True)
    if not done:
        return _back(task), status
    flash("已移除关联。", "success")
    return redirect(url_for("tasks.task_detail", task_id=task.id))


def _back(task: Task):
    from app.tasks.views import task_detail

    return task_detail(task.id)


def page_links(task: Task) -> dict:
    """What the item page shows of its links: the links, the open predecessors' warning,
    and the form (with the items to choose from) for whoever may link it."""
    if task.project_id is None:  # a rectification: no project, no links
        return dict(link_rows=[], waiting=[], link_form=None, link_choices=[])
    rows = links.links_of(task, current_user)
    may_link = authz.can(current_user, "task.link", task)
    return dict(
        link_rows=rows,
        waiting=links.waiting(rows),
        link_form=LinkForm() if may_link else None,
        link_choices=links.link_choices(task, current_user) if may_link else [],
    )
