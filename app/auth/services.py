"""Logging in: the password (behind the throttle), the second factor, the audit trail.

Every refusal shows the same generic message whatever its cause (no username
probing); the cause goes to the audit log for the 审计员.
"""

from __future__ import annotations

from datetime import datetime

from app.audit.services import event
from app.auth import directory, mfa, sessions, throttle
from app.auth.throttle import LoginThrottled
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.org.models import User
from app.org.services import verify_password
from app.timeutil import utcnow

GENERIC_FAILURE = "用户名或密码错误。"
BAD_SECOND_FACTOR = "动态验证码或恢复码不正确。"
SECOND_FACTOR_NEEDED = "该账号已启用双因素认证，请同时提供动态验证码（otp 字段，6 位数字）或一个恢复码。"

__all__ = ["LoginThrottled", "authenticate", "check_password", "complete_login", "load_session_user"]


class LoginRefused(ServiceError):
    status = 401


def _refuse(username: str, ip: str, reason: str, *, user: User | None = None, now: datetime) -> None:
    throttle.record(username, ip, False, now=now)
    event(
        "auth.login_failed",
        result="failure",
        user=user,
        username=throttle.key(username) or "-",
        detail={"reason": reason},
        now=now,
    )
    raise LoginRefused(GENERIC_FAILURE)


def check_password(username: str, password: str, ip: str, *, now: datetime) -> User:
    """The first factor: throttle, then the password, then the account's state."""
    username = (username or "").strip()
    throttle.check(username, ip, now=now)
    # The unit (is it switched off?) and the roles (the audit row marks administrators)
    # come with the account: one statement, not three.
    user = directory.find_account(username)
    # A directory account, or a name unknown here while directory login is on: the directory decides.
    if (user is None and directory.current_settings() is not None) or (
        user is not None and user.auth_source == "ldap"
    ):
        return _check_directory(username, password, ip, user, now=now)
    if not verify_password(user, password):
        _refuse(username, ip, "unknown user" if user is None else "wrong password", user=user, now=now)
    if not user.is_active or not user.unit.is_active:
        _refuse(username, ip, "inactive", user=user, now=now)
    return user


def _check_directory(username: str, password: str, ip: str, user: User | None, *, now: datetime) -> User:
    """A directory account (or an unknown name while directory login is on): the bind
    decides; the throttle, the audit trail and the generic refusal are the local ones."""
    cfg = directory.current_settings()
    if cfg is None:  # directory login switched off: its accounts cannot log in
        _refuse(username, ip, "directory login off", user=user, now=now)
    # The round trip runs outside any transaction: a slow directory never holds
    # SQLite's write lock (a login is a POST: BEGIN IMMEDIATE) for its timeout.
    db.session.rollback()
    try:
        entry, why = directory.verify(cfg, username, password)
    except directory.DirectoryUnavailable as exc:
        detail = {"reason": "directory unavailable", "error": exc.cause or exc.reason}
        event(
            "auth.login_failed",
            result="failure",
            username=throttle.key(username) or "-",
            detail=detail,
            now=now,
        )
        raise
    if user is not None:  # expired by the rollback: reload it, its unit and roles in one statement
        user = directory.find_account(username)
    if entry is None:
        _refuse(username, ip, why, user=user, now=now)
    if user is not None and (not user.is_active or not user.unit.is_active):
        _refuse(username, ip, "inactive", user=user, now=now)
    try:
        return directory.sync_user(user, username, entry, now=now)
    except directory.DirectoryRefused as exc:
        detail = {"reason": "directory mapping", "message": exc.message}
        event(
            "auth.login_failed",
            result="failure",
            user=user,
            username=throttle.key(username),
            detail=detail,
            now=now,
        )
        raise


def check_second_factor(user: User, code: str | None, ip: str, *, now: datetime) -> str:
    """A TOTP code or an unused recovery code (behind the same throttle as the
    password); returns 'totp' or 'recovery'."""
    throttle.check(user.username, ip, now=now)
    kind = mfa.verify(user, code, now=now)
    if kind is None:
        throttle.record(user.username, ip, False, now=now)
        event(
            "auth.login_failed", result="failure", user=user, detail={"reason": "bad second factor"}, now=now
        )
        raise LoginRefused(BAD_SECOND_FACTOR)
    return kind


def complete_login(user: User, ip: str, *, channel: str, second_factor: str | None, now: datetime) -> None:
    """Record a successful login (attempt row, last login, journal, audit)."""
    throttle.record(user.username, ip, True, now=now)
    user.last_login_at = now
    db.session.flush()
    record(user, "auth.login", user, None, {"ip": ip}, unit_id=user.unit_id, now=now)
    event("auth.login", user=user, detail={"channel": channel, "second_factor": second_factor}, now=now)


def authenticate(username: str, password: str, ip: str, *, now: datetime, otp: str | None = None) -> User:
    """Password and — for a user with a second factor — `otp` (a TOTP code or a
    recovery code), in one call: the API's token endpoint. Raises LoginThrottled
    (429) or LoginRefused (401)."""
    user = check_password(username, password, ip, now=now)
    used = None
    if user.mfa_enabled_at is not None:
        if not (otp or "").strip():
            event(
                "auth.login_failed",
                result="failure",
                user=user,
                detail={"reason": "second factor missing"},
                now=now,
            )
            raise LoginRefused(SECOND_FACTOR_NEEDED)
        used = check_second_factor(user, otp, ip, now=now)
    complete_login(user, ip, channel="api", second_factor=used, now=now)
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: the user of a live server-side session (app.auth.sessions)."""
    return sessions.load(session_id, now=utcnow())
