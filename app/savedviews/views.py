"""Saved-view routes: save the list's current query, open one, edit, default, delete.
Each answers with a redirect back to the list (a message flashed on the way)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.savedviews import bp, lists, services
from app.savedviews.forms import DefaultForm, EditViewForm, SaveViewForm
from app.savedviews.models import SavedView
from app.timeutil import utcnow
from app.views_util import actor, run_service

EXPIRED = "页面已过期，请刷新后重试。"


@bp.route("/saved-views", methods=["POST"])
@login_required
def view_create():
    form = SaveViewForm()
    spec = lists.spec_of(form.list_key.data or "") or abort(404)
    query = form.query.data or ""
    if not form.validate_on_submit():
        flash(EXPIRED, "danger")
        return redirect(_back(spec, query), 303)
    result, _ = run_service(
        lambda: services.create_view(
            actor(),
            list_key=spec.key,
            name=form.name.data,
            query=query,
            shared=form.shared.data,
            is_default=form.is_default.data,
            now=utcnow(),
        )
    )
    if result is None:
        return redirect(_back(spec, query), 303)
    view, ignored = result
    flash(f"已保存查询“{view.name}”。", "success")
    if ignored:
        flash(lists.ignored_message(view.name, ignored), "warning")
    return redirect(url_for("savedviews.open_view", view_id=view.id), 303)


@bp.route("/saved-views/<int:view_id>/open")
@login_required
def open_view(view_id: int):
    """The list with the view's filters — what is still valid for this user; the rest named."""
    view = authz.get_scoped_or_404(SavedView, view_id, "view.open", current_user)
    spec = lists.spec_of(view.list_key) or abort(404)
    kept, ignored = lists.resolve(spec, lists.parse(view.query), current_user)
    if ignored:
        flash(lists.ignored_message(view.name, ignored), "warning")
    return redirect(url_for(spec.endpoint, **dict(kept), view=view.id))


@bp.route("/saved-views/<int:view_id>", methods=["POST"])
@login_required
def view_update(view_id: int):
    form = EditViewForm()
    return _manage(
        view_id,
        lambda v: services.update_view(
            actor(),
            v,
            name=form.name.data,
            shared=form.shared.data,
            is_default=form.is_default.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        lambda name: f"已更新查询“{name}”。",
        form,
    )


@bp.route("/saved-views/<int:view_id>/default", methods=["POST"])
@login_required
def view_default(view_id: int):
    form = DefaultForm()
    on = bool(form.on.data)
    return _manage(
        view_id,
        lambda v: services.set_default(actor(), v, on=on, expected_version=form.version.data, now=utcnow()),
        lambda name: f"已将“{name}”设为默认查询。" if on else f"“{name}”不再是默认查询。",
        form,
    )


@bp.route("/saved-views/<int:view_id>/delete", methods=["POST"])
@login_required
def view_delete(view_id: int):
    version = request.form.get("version")
    return _manage(
        view_id,
        lambda v: services.delete_view(actor(), v, expected_version=version, now=utcnow()),
        lambda name: f"已删除查询“{name}”。",
        back_to_list=True,
    )


def _manage(view_id: int, call, message, form=None, *, back_to_list: bool = False):
    """Load one's own view (another's: 404, a colleague's shared one: 403), run the
    service, commit, say so; back to the view (or, once deleted, to its plain list)."""
    view = authz.get_scoped_or_404(SavedView, view_id, "view.manage", current_user)
    endpoint, name = lists.spec_of(view.list_key).endpoint, view.name
    if form is not None and not form.validate_on_submit():
        flash(EXPIRED, "danger")
        return redirect(url_for("savedviews.open_view", view_id=view_id), 303)
    result, status = run_service(lambda: call(view), form, versioned=view)
    if status != 200:
        return redirect(url_for("savedviews.open_view", view_id=view_id), 303)
    flash(message(result.name if result is not None else name), "success")
    if back_to_list:
        return redirect(url_for(endpoint, view=0), 303)
    return redirect(url_for("savedviews.open_view", view_id=view_id), 303)


def _back(spec: lists.ListSpec, query: str) -> str:
    """The list as it was when the save was refused: only what `lists.resolve` accepts
    (the list's own keys, checked and capped) and the current view's id — never the raw
    query, which could make the Location header too big for a browser or a proxy. Never
    bare either, which would apply the default instead."""
    pairs = lists.parse(query)
    args = dict(lists.resolve(spec, pairs, current_user)[0])
    view = lists.view_marker(pairs)
    if view is not None:
        args["view"] = view
    return url_for(spec.endpoint, **(args or {"view": 0}))
