"""The 安全管理员's pages: security settings, login locks, API tokens and second factors
of the users in their subtree. Each is guarded by the policy's "security.manage"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from app import authz
from app.api import tokens
from app.api.models import ApiToken
from app.auth import mfa, throttle
from app.errors import ServiceError
from app.extensions import db
from app.forms import BaseForm
from app.org.forms import MultiCheckboxField
from app.org.models import ROLES, User
from app.security import settings
from app.timeutil import utcnow

bp = Blueprint("security", __name__, template_folder="templates", url_prefix="/admin/security")

LIST_LIMIT = 500


def _me() -> Any:
    return current_user._get_current_object()


@bp.before_request
@login_required
def _guard():
    authz.require(current_user, "security.manage")


def _settings_form() -> BaseForm:
    """One field per declared setting (app/security/settings.py), filled with its value."""

    class SettingsForm(BaseForm):
        pass

    for key, spec in settings.SETTINGS.items():
        if spec.kind == "roles":
            field = MultiCheckboxField(spec.label, choices=dict(ROLES), default=list(settings.get(key)))
        else:
            bounds = f"{spec.label}须为 {spec.minimum}–{spec.maximum} 之间的整数。"
            field = IntegerField(
                spec.label,
                validators=[InputRequired(bounds), NumberRange(spec.minimum, spec.maximum, bounds)],
                default=settings.get(key),
                description=spec.help,
            )
        setattr(SettingsForm, key, field)
    return SettingsForm()


@bp.route("", methods=["GET", "POST"])
def settings_page():
    form = _settings_form()
    status = 200
    if form.validate_on_submit():
        try:
            changes = settings.save(_me(), {k: form[k].data for k in settings.SETTINGS}, now=utcnow())
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            status = 400
        else:
            db.session.commit()
            flash(f"已保存，修改了 {len(changes)} 项。" if changes else "没有修改任何设置。", "success")
            return redirect(url_for("security.settings_page"))
    elif request.method == "POST":
        status = 400
    return render_template("security/settings.html", form=form), status


@bp.route("/locks")
def locks():
    return render_template("security/locks.html", locks=throttle.current_locks(utcnow()))


@bp.route("/locks/unlock", methods=["POST"])
def unlock():
    username, ip = request.form.get("username", ""), request.form.get("ip", "")
    try:
        cleared = throttle.unlock(_me(), username, ip, now=utcnow())
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(
            f"已解除账号“{throttle.key(username)}”在地址 {ip} 的登录限制（清除 {cleared} 次失败记录）。",
            "success",
        )
    return redirect(url_for("security.locks"))


@bp.route("/tokens")
def token_list():
    stmt = tokens.in_units(authz.scope_unit_ids(current_user))
    if request.args.get("all") != "1":
        stmt = stmt.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
    rows = db.session.execute(stmt.limit(LIST_LIMIT)).all()
    return render_template(
        "security/tokens.html", rows=rows, now=utcnow(), reasons=tokens.REASONS, limit=LIST_LIMIT
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def token_revoke(token_id: int):
    row = tokens.get_or_404(token_id, _me())
    if tokens.revoke(row, reason="secadmin", now=utcnow(), actor=_me()):
        flash(f"访问令牌“{row.label}”已撤销。", "success")
    else:
        flash("该访问令牌此前已撤销。", "info")
    db.session.commit()
    return redirect(url_for("security.token_list"))


@bp.route("/mfa")
def mfa_list():
    stmt = authz.scope(select(User), User, current_user).where(
        User.active.is_(True), User.mfa_enabled_at.is_not(None)
    )
    stmt = stmt.options(joinedload(User.unit)).order_by(User.username).limit(LIST_LIMIT)
    rows = list(db.session.scalars(stmt))
    return render_template("security/mfa.html", rows=rows, limit=LIST_LIMIT)


@bp.route("/users/<int:user_id>/mfa-reset", methods=["POST"])
def mfa_reset(user_id: int):
    user = authz.get_scoped_or_404(User, user_id, "user.reset_password", current_user)
    try:
        mfa.reset(_me(), user, now=utcnow())
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(f"已重置“{user.display_name}”的双因素认证；其登录和访问令牌已失效。", "success")
    return redirect(url_for("security.mfa_list"))
