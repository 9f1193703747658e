"""Log in (password, then the second factor where enrolled), log out, change one's own password."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.auth import bp, mfa, sessions
from app.auth.directory import DIRECTORY_PASSWORD
from app.auth.forms import ChangePasswordForm, CodeForm, LoginForm
from app.auth.services import check_password, check_second_factor, complete_login
from app.errors import ServiceError
from app.extensions import db
from app.org.services import change_own_password, rotate_session
from app.timeutil import utcnow

# The second step must follow the password within this time.
SECOND_STEP_MINUTES = 5


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


def _client() -> tuple[str, str]:
    return request.remote_addr or "-", request.user_agent.string or ""


def _landing(user, next_url: str | None):
    if user.must_change_password:
        flash("管理员已重置您的密码，请先设置新密码。", "warning")
        return redirect(url_for("auth.change_password"))
    return redirect(next_url or url_for("main.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    if message := sessions.timeout_message():
        flash(message, "warning")
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        (ip, agent), now = _client(), utcnow()
        try:
            user = check_password(form.username.data, form.password.data, ip, now=now)
        except ServiceError as exc:
            db.session.commit()  # keep the failed attempt: it feeds the throttle
            flash(exc.message, "danger")
            status = exc.status
        else:
            next_url = _safe_next(request.args.get("next"))
            _, key = sessions.start(user, ip=ip, user_agent=agent, mfa_passed=False, now=now)
            if mfa.enrolled(user):
                db.session.commit()
                session.clear()  # nothing from before the login survives it
                session["mfa_pending"] = sessions.session_id(user.id, key)
                session["mfa_next"] = next_url
                return redirect(url_for("auth.second_factor"))
            complete_login(user, ip, channel="web", second_factor=None, now=now)
            sessions.keep_loaded(user)
            db.session.commit()
            sessions.log_in(user, key)
            return _landing(user, next_url)
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def _pending_login(now):
    """The session row and user waiting for their second factor, if still fresh."""
    found = sessions.find(session.get("mfa_pending"))
    if found is None:
        return None
    row, user = found
    fresh = now - row.created_at <= timedelta(minutes=SECOND_STEP_MINUTES)
    if row.ended_at or row.mfa_passed or not fresh or not user.is_active or not mfa.enrolled(user):
        return None
    return row, user


@bp.route("/login/verify", methods=["GET", "POST"])
def second_factor():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = _pending_login(utcnow())
    if pending is None:
        session.pop("mfa_pending", None)
        flash("请先输入用户名和密码。", "warning")
        return redirect(url_for("auth.login"))
    row, user = pending
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        (ip, _), now = _client(), utcnow()
        try:
            used = check_second_factor(user, form.code.data, ip, now=now)
        except ServiceError as exc:
            db.session.commit()  # the failure feeds the throttle too
            flash(exc.message, "danger")
            status = exc.status
        else:
            row.mfa_passed, row.last_seen_at = True, now
            complete_login(user, ip, channel="web", second_factor=used, now=now)
            left = mfa.recovery_codes_left(user)
            sessions.keep_loaded(user)
            db.session.commit()
            next_url = session.get("mfa_next")
            sessions.log_in(user, session["mfa_pending"].partition(":")[2])
            if used == "recovery":
                flash(f"您使用了一个恢复码（每个只能用一次），还剩 {left} 个。", "warning")
            return _landing(user, next_url)
    elif request.method == "POST":
        status = 400
    return render_template("auth/second_factor.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    rotate_session(current_user._get_current_object(), now=utcnow())
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出，您在其他设备上的登录和访问令牌也已失效。", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if (
        getattr(current_user, "auth_source", "local") == "ldap"
    ):  # no local password: the page only says where to change it
        return render_template("auth/password.html", form=None, directory=DIRECTORY_PASSWORD), (
            400 if request.method == "POST" else 200
        )
    if form.validate_on_submit():
        user, current = current_user._get_current_object(), sessions.current()
        (ip, agent), now = _client(), utcnow()
        try:
            change_own_password(user, form.old_password.data, form.new_password.data, now=now)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            status = 400
        else:
            # Every session ended with the old password; this browser goes on in a new one.
            passed = bool(current and current.mfa_passed)
            _, key = sessions.start(user, ip=ip, user_agent=agent, mfa_passed=passed, now=now)
            db.session.commit()
            sessions.log_in(user, key)
            flash("密码已修改。其他设备上的登录和您的全部访问令牌已失效。", "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status
