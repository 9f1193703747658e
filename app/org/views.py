"""Admin pages for the unit tree and the accounts in it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.extensions import db
from app.org import bp, queries, services
from app.org.forms import MoveUnitForm, ResetPasswordForm, RolesForm, UnitForm, UserForm
from app.org.models import Unit, User
from app.timeutil import utcnow
from app.views_util import actor, form_status, page_args, run_service

# ---------------------------------------------------------------- units


@bp.route("/admin/units")
@login_required
def units():
    authz.require(current_user, "admin.access")
    q = request.args.get("q", "").strip()
    if q:
        items = [(u, 0) for u in queries.search_units(current_user, q)]
    else:
        items = [(r.unit, r.depth) for r in queries.subtree_units(current_user)]
    return render_template("org/units.html", items=items, q=q)


@bp.route("/units/<int:unit_id>")
@login_required
def unit_detail(unit_id: int):
    unit = authz.get_scoped_or_404(Unit, unit_id, "unit.view", current_user)
    visible = authz.visible_unit_ids(current_user)
    path = [u for u in queries.ancestors(unit) if u.id in visible]
    return render_template("org/unit_detail.html", unit=unit, path=path, children=queries.child_units(unit))


@bp.route("/admin/units/new", methods=["GET", "POST"])
@login_required
def unit_new():
    parent = authz.get_scoped_or_404(
        Unit, request.args.get("parent", type=int) or 0, "unit.add_child", current_user
    )
    form = UnitForm()
    status = 200
    if form.validate_on_submit():
        unit, status = run_service(
            lambda: services.create_unit(
                actor(),
                name=form.name.data,
                level=form.level.data,
                parent=parent,
                tribunal_kind=form.tribunal_kind.data,
                feature_label=form.feature_label.data,
                aliases=form.aliases.data,
                now=utcnow(),
            ),
            form,
        )
        if unit:
            flash(f"已添加单位“{unit.name}”。", "success")
            return redirect(url_for("org.unit_detail", unit_id=unit.id))
    return render_template("org/unit_form.html", form=form, parent=parent, unit=None), max(
        status, form_status(form)
    )


@bp.route("/admin/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def unit_edit(unit_id: int):
    unit = authz.get_scoped_or_404(Unit, unit_id, "unit.edit", current_user)
    form = UnitForm(obj=unit) if request.method == "GET" else UnitForm()
    if request.method == "GET":
        form.aliases.data = "、".join(unit.aliases)
        form.version.data = unit.version
        form.tribunal_kind.data = unit.tribunal_kind or ""
    form.level.data = unit.level  # level is fixed once created
    status = 200
    if form.validate_on_submit():
        ok, status = run_service(
            lambda: services.update_unit(
                actor(),
                unit,
                name=form.name.data,
                tribunal_kind=form.tribunal_kind.data,
                feature_label=form.feature_label.data,
                aliases=form.aliases.data,
                expected_version=form.version.data,
                now=utcnow(),
            ),
            form,
        )
        if ok:
            flash("已保存。", "success")
            return redirect(url_for("org.unit_detail", unit_id=unit.id))
    return render_template("org/unit_form.html", form=form, parent=unit.parent, unit=unit), max(
        status, form_status(form)
    )


@bp.route("/admin/units/<int:unit_id>/move", methods=["GET", "POST"])
@login_required
def unit_move(unit_id: int):
    unit = authz.get_scoped_or_404(Unit, unit_id, "unit.move", current_user)
    form = MoveUnitForm()
    form.parent_id.choices = queries.unit_choices(current_user)
    if request.method == "GET":
        form.version.data = unit.version
        form.parent_id.data = unit.parent_id
    status = 200
    if form.validate_on_submit():
        new_parent = authz.get_scoped_or_404(Unit, form.parent_id.data, "unit.add_child", current_user)
        ok, status = run_service(
            lambda: services.move_unit(
                actor(), unit, new_parent, expected_version=form.version.data, now=utcnow()
            ),
            form,
        )
        if ok:
            flash(f"已将“{unit.name}”移到“{new_parent.name}”之下。", "success")
            return redirect(url_for("org.unit_detail", unit_id=unit.id))
    return render_template("org/unit_move.html", form=form, unit=unit), max(status, form_status(form))


def _toggle_unit(unit_id: int, active: bool):
    unit = authz.get_scoped_or_404(Unit, unit_id, "unit.deactivate", current_user)
    ok, status = run_service(
        lambda: services.set_unit_active(
            actor(), unit, active, expected_version=request.form.get("version"), now=utcnow()
        )
    )
    if not ok:
        return unit_detail(unit_id), status
    flash(f"已{'启用' if active else '停用'}“{unit.name}”。", "success")
    return redirect(url_for("org.unit_detail", unit_id=unit_id))


@bp.route("/admin/units/<int:unit_id>/deactivate", methods=["POST"])
@login_required
def unit_deactivate(unit_id: int):
    return _toggle_unit(unit_id, False)


@bp.route("/admin/units/<int:unit_id>/activate", methods=["POST"])
@login_required
def unit_activate(unit_id: int):
    return _toggle_unit(unit_id, True)


# ---------------------------------------------------------------- users


@bp.route("/admin/users")
@login_required
def users():
    authz.require(current_user, "user.list")
    args = {k: request.args.get(k, "") for k in ("q", "role", "status")}
    unit_id = request.args.get("unit", type=int)
    page, size = page_args()
    stmt = queries.users_query(current_user, unit_id=unit_id, **args)
    pagination = db.paginate(stmt, page=page, per_page=size, error_out=False)
    return render_template(
        "org/users.html",
        pagination=pagination,
        args=args,
        unit_id=unit_id,
        unit_choices=queries.unit_choices(current_user),
    )


def _user_form(user: User | None, prefill: bool | None = None) -> UserForm:
    prefill = (request.method == "GET") if prefill is None else prefill
    form = UserForm(obj=user, formdata=None) if (user is not None and prefill) else UserForm()
    form.unit_id.choices = queries.unit_choices(current_user)
    if user is not None and prefill:
        form.version.data = user.version
    return form


def _roles_form(user: User, prefill: bool = True) -> RolesForm:
    form = RolesForm(formdata=None) if prefill else RolesForm()
    if prefill:
        form.roles.data = sorted(user.roles)
        form.version.data = user.version
    return form


def _user_page(user: User, roles_form: RolesForm | None = None, status: int = 200):
    """The account's page: basic data, roles (a form for the 安全管理员), the actions
    each administrator may take on it."""
    return render_template(
        "org/user_detail.html", user=user, roles_form=roles_form or _roles_form(user)
    ), status


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    authz.require(current_user, "user.create")
    form = _user_form(None)
    if request.method == "GET" and request.args.get("unit", type=int):
        form.unit_id.data = request.args.get("unit", type=int)
    status = 200
    if form.validate_on_submit():
        unit = authz.get_scoped_or_404(Unit, form.unit_id.data, "unit.add_child", current_user)
        user, status = run_service(
            lambda: services.create_user(
                actor(),
                username=form.username.data,
                display_name=form.display_name.data,
                unit=unit,
                password=form.password.data or "",
                email=form.email.data,
                phone=form.phone.data,
                must_change_password=True,
                now=utcnow(),
            ),
            form,
        )
        if user:
            flash(
                f"已添加用户“{user.username}”，首次登录须修改密码；该账号尚无角色，请安全管理员授予。",
                "success",
            )
            return redirect(url_for("org.user_detail", user_id=user.id))
    return render_template("org/user_form.html", form=form, user=None), max(status, form_status(form))


@bp.route("/admin/users/<int:user_id>")
@login_required
def user_detail(user_id: int):
    user = authz.get_scoped_or_404(User, user_id, "user.view", current_user)
    return _user_page(user)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    user = authz.get_scoped_or_404(User, user_id, "user.edit", current_user)
    form = _user_form(user)
    form.username.data = user.username  # the login name never changes
    status = 200
    if form.validate_on_submit():
        unit = authz.get_scoped_or_404(Unit, form.unit_id.data, "unit.add_child", current_user)
        ok, status = run_service(
            lambda: services.update_user(
                actor(),
                user,
                display_name=form.display_name.data,
                unit=unit,
                email=form.email.data,
                phone=form.phone.data,
                expected_version=form.version.data,
                now=utcnow(),
            ),
            form,
            versioned=user,
        )
        if ok:
            flash("已保存。", "success")
            return redirect(url_for("org.user_detail", user_id=user.id))
    return render_template("org/user_form.html", form=form, user=user), max(status, form_status(form))


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@login_required
def user_roles(user_id: int):
    user = authz.get_scoped_or_404(User, user_id, "user.grant_roles", current_user)
    form = _roles_form(user, prefill=False)
    status = 400
    if form.validate_on_submit():
        ok, status = run_service(
            lambda: services.set_user_roles(
                actor(), user, form.roles.data, expected_version=form.version.data, now=utcnow()
            ),
            form,
            versioned=user,
        )
        if ok:
            flash(f"已保存“{user.username}”的角色。", "success")
            return redirect(url_for("org.user_detail", user_id=user.id))
    return _user_page(user, form, status)


def _toggle_user(user_id: int, active: bool):
    user = authz.get_scoped_or_404(User, user_id, "user.deactivate", current_user)
    ok, status = run_service(
        lambda: services.set_user_active(
            actor(), user, active, expected_version=request.form.get("version"), now=utcnow()
        ),
        versioned=user,
    )
    if not ok:
        return _user_page(user, status=status)
    flash(f"已{'启用' if active else '停用'}用户“{user.username}”。", "success")
    return redirect(url_for("org.user_detail", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@login_required
def user_deactivate(user_id: int):
    return _toggle_user(user_id, False)


@bp.route("/admin/users/<int:user_id>/activate", methods=["POST"])
@login_required
def user_activate(user_id: int):
    return _toggle_user(user_id, True)


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@login_required
def user_reset_password(user_id: int):
    user = authz.get_scoped_or_404(User, user_id, "user.reset_password", current_user)
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        ok, status = run_service(
            lambda: services.reset_password(actor(), user, form.password.data, now=utcnow()), form
        )
        if ok:
            flash(f"已重置“{user.username}”的密码，其登录已失效，下次登录须修改密码。", "success")
            return redirect(url_for("org.user_detail", user_id=user.id))
    return render_template("org/user_reset.html", form=form, user=user), max(status, form_status(form))
