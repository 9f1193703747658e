"""What a logged-in user must do before anything else: set a new password (after an
admin's reset, or once it has expired), then enrol a second factor where their role
requires one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_login import current_user

from app.auth import mfa, passwords
from app.security import settings
from app.timeutil import utcnow

# Pages a user with something pending may still reach.
SETUP_ENDPOINTS = frozenset(
    {
        "auth.change_password",
        "auth.mfa_enrol",
        "auth.logout",
        "auth.login",
        "static",
        "bootstrap.static",
        "main.healthz",
        "main.readyz",
    }
)


def pending_setup(user: Any, *, now: datetime) -> tuple[str, str] | None:
    """(endpoint, message) of what the user must do first, or None."""
    if user.must_change_password:
        return "auth.change_password", "管理员已重置您的密码，请先设置新密码。"
    if passwords.expired(user, now=now):
        days = settings.get("PASSWORD_EXPIRY_DAYS")
        return "auth.change_password", f"您的密码已使用超过 {days} 天，请先设置新密码。"
    if mfa.required(user) and not mfa.enrolled(user):
        return "auth.mfa_enrol", "您的角色要求启用双因素认证（动态验证码），请先完成设置。"
    return None


def setup_first():
    """before_request: send the user to what is pending (the API answers 403)."""
    if request.endpoint in SETUP_ENDPOINTS or not current_user.is_authenticated:
        return None
    if not hasattr(current_user, "must_change_password"):  # a wall display, not a person
        return None
    pending = pending_setup(current_user, now=utcnow())
    if pending is None:
        return None
    endpoint, message = pending
    if request.path.startswith("/api/"):
        return jsonify({"error": message + "（请在网页上完成后再使用接口。）"}), 403
    flash(message, "warning")
    return redirect(url_for(endpoint))


def own_job_only():
    """before_request (三员分立): the 安全管理员 and the 审计员 open their own pages
    only (authz.may_open); anything else is refused before the view runs."""
    from flask import abort

    from app import authz

    if not current_user.is_authenticated or not hasattr(current_user, "must_change_password"):
        return None
    if request.endpoint is None or authz.may_open(current_user, request.endpoint):
        return None
    if request.path.startswith("/api/"):
        return jsonify({"error": "安全管理员、安全审计员账号只能使用其职责范围内的功能。"}), 403
    abort(403)
