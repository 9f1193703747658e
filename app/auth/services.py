"""Logging in: password check, throttling of repeated failures, the journal."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.auth.models import LoginAttempt
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.org.models import User
from app.org.services import verify_password

GENERIC_FAILURE = "用户名或密码错误。"


class LoginLocked(ServiceError):
    status = 429


def _failures_since(column, value: str, since: datetime) -> tuple[int, datetime | None]:
    """Failures for this key since `since`, not counting those before its last success."""
    last_ok = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            column == value, LoginAttempt.success.is_(True), LoginAttempt.at >= since
        )
    )
    start = max(since, last_ok) if last_ok else since
    after = LoginAttempt.at > start if last_ok else LoginAttempt.at >= start
    count, newest = db.session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            column == value, LoginAttempt.success.is_(False), after
        )
    ).one()
    return count, newest


def check_lock(username: str, ip: str, now: datetime) -> None:
    """Raise LoginLocked while the account or the address is locked out."""
    cfg = current_app.config
    window = timedelta(hours=cfg["LOGIN_WINDOW_HOURS"])
    lock = timedelta(minutes=cfg["LOGIN_LOCK_MAX_MINUTES"])
    for column, value, limit, what in (
        (LoginAttempt.username, username.lower(), cfg["LOGIN_MAX_FAILURES"], "该账号"),
        (LoginAttempt.ip, ip, cfg["LOGIN_MAX_FAILURES_PER_IP"], "本机地址"),
    ):
        count, newest = _failures_since(column, value, now - window)
        if count >= limit and newest is not None and now < newest + lock:
            minutes = max(1, math.ceil((newest + lock - now).total_seconds() / 60))
            raise LoginLocked(
                f"{what}连续登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。"
                "如忘记密码，请联系本单位管理员重置。"
            )


def authenticate(username: str, password: str, ip: str, *, now: datetime) -> User:
    """Check the password (after the lock); record the attempt; return the user."""
    username = (username or "").strip()
    check_lock(username, ip, now)
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = verify_password(user, password)
    db.session.add(LoginAttempt(username=username.lower()[:50], ip=ip[:45], at=now, success=ok))
    if not ok:
        db.session.flush()
        raise ServiceError(GENERIC_FAILURE)
    if not user.is_active or not user.unit.is_active:
        db.session.flush()
        raise ServiceError("该账号已停用，请联系本单位管理员。")
    user.last_login_at = now
    db.session.flush()
    record(user, "auth.login", user, None, {"ip": ip}, unit_id=user.unit_id, now=now)
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: 'id:token' must match the user's current session token."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user
