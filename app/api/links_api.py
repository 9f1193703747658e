"""API: links between items (issue 15) — add one, remove one. An item's links are part
of the assignment's detail (`task.links`); the same service and policy as the item page."""

from __future__ import annotations

from flask import Response, abort
from flask_login import current_user, login_required

from app import authz
from app.api import bp
from app.api.assignment_out import link_out
from app.api.core import Schema, loads, me, run, scoped
from app.api.fields import Choice, Id
from app.api.outputs import TaskLinkOut
from app.extensions import db
from app.tasks import links
from app.tasks.models import Task, TaskLink
from app.timeutil import utcnow


class TaskLinkIn(Schema):
    kind = Choice(("depends", "related"), required=True)
    task_id = Id(required=True, metadata={"description": "对方事项（同一项目）；depends：本事项依赖于它"})


@bp.route("/tasks/<int:task_id>/links", methods=["POST"])
@login_required
@loads(scoped(Task, "task.link"), "task")
@bp.doc(
    summary="添加关联事项（依赖/相关）",
    description="只能关联同一项目中的清单事项；依赖不能形成循环（400，说明循环链）；范围外的事项返回 404。",
)
@bp.arguments(TaskLinkIn)
@bp.response(201, TaskLinkOut)
@bp.errors(400, 401, 403, 404)
def task_link_add(args: dict, task: Task):
    other = authz.get_scoped_or_404(Task, args["task_id"], "task.view", current_user)
    link = run(lambda: links.add_link(me(), task, other, kind=args["kind"], now=utcnow()))
    return link_out(next(r for r in links.links_of(task, current_user) if r.link.id == link.id))


def _link_and_end(link_id: int) -> tuple[TaskLink, Task]:
    """The link and the end of it the caller may link (hidden → 404, else 403)."""
    link = db.session.get(TaskLink, link_id)
    if link is None:
        abort(404)
    ends = [db.session.get(Task, link.from_task_id), db.session.get(Task, link.to_task_id)]
    for task in ends:
        if authz.can(current_user, "task.link", task):
            return link, task
    visible = [t for t in ends if authz.sees(current_user, t)]
    authz.require(current_user, "task.link", visible[0] if visible else ends[0])
    raise AssertionError("unreachable: require aborts")


@bp.route("/task-links/<int:link_id>", methods=["DELETE"])
@login_required
@loads(_link_and_end, "found")
@bp.doc(summary="移除关联事项", description="两端事项任一可编辑者均可移除；两端均记入事项记录。")
@bp.response(204, description="已移除")
@bp.errors(401, 403, 404)
def task_link_remove(found: tuple[TaskLink, Task]):
    link, task = found
    run(lambda: links.remove_link(me(), task, link, now=utcnow()))
    return Response(status=204)
