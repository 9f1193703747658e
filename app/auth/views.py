"""Log in, log out, change one's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import ChangePasswordForm, LoginForm
from app.auth.services import authenticate
from app.errors import ServiceError
from app.extensions import db
from app.org.services import change_own_password, rotate_session
from app.timeutil import utcnow


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an unchecked `next` is an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.username.data, form.password.data, request.remote_addr or "-", now=utcnow()
            )
        except ServiceError as exc:
            db.session.commit()  # keep the failed attempt: it feeds the lock-out
            flash(exc.message, "danger")
            status = exc.status if exc.status != 400 else 401
        else:
            db.session.commit()
            login_user(user)
            if user.must_change_password:
                flash("管理员已重置您的密码，请先设置新密码。", "warning")
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    rotate_session(current_user._get_current_object(), now=utcnow())
    db.session.commit()
    logout_user()
    flash("您已安全退出。", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_own_password(user, form.old_password.data, form.new_password.data, now=utcnow())
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            status = 400
        else:
            db.session.commit()
            login_user(user)  # this browser keeps going with the new session token
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status
