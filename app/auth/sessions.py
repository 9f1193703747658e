"""Server-side sessions: one row per login in one browser (table user_sessions).

The signed Flask cookie carries "<user id>:<session key>" as Flask-Login's user id;
only the key's SHA-256 is stored. Every request looks the row up: ended, idle past
SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS means logged out, whatever the
cookie says — on every app process and host, since the row is in the database.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, has_request_context, session
from flask_login import login_user
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import joinedload

from app.audit.services import event
from app.auth.models import UserSession
from app.extensions import begin_writes, db
from app.notifications import remember_unread, unread_column
from app.org.models import User
from app.security import settings
from app.sqlutil import prebuilt

# last_seen_at is written at most this often: a write per request would cost too much,
# and the idle timeout is measured to the minute anyway.
TOUCH_EVERY = timedelta(minutes=1)
MAX_KEY_LENGTH = 100

TIMEOUT_MESSAGES = {
    "idle": "您已超过 {idle} 分钟没有操作，登录已自动失效，请重新登录。",
    "absolute": "本次登录已超过 {hours} 小时，已自动失效，请重新登录。",
}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(
    user: User, *, ip: str, user_agent: str | None, mfa_passed: bool, now: datetime
) -> tuple[UserSession, str]:
    """A new session row with a new random key; returns the row and the key (shown once)."""
    key = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        key_hash=_hash(key),
        created_at=now,
        last_seen_at=now,
        ip=(ip or "-")[:45],
        user_agent=(user_agent or "")[:200] or None,
        mfa_passed=mfa_passed,
    )
    db.session.add(row)
    db.session.flush()
    return row, key


def session_id(user_id: int, key: str) -> str:
    return f"{user_id}:{key}"


@prebuilt
def _find_statement() -> Select:
    # the user with its unit and roles, the top bar's unread count and the security
    # settings: one statement on every request, not four
    return (
        select(UserSession, User, unread_column(User.id), *settings.stored_columns())
        .join(User, User.id == UserSession.user_id)
        .options(joinedload(User.unit), joinedload(User.role_rows))
        .where(UserSession.key_hash == bindparam("key_hash"))
    )


def find(value: str | None) -> tuple[UserSession, User] | None:
    """The row and user behind "<user id>:<key>", or None."""
    user_id, _, key = (value or "").partition(":")
    if not user_id.isdigit() or not key or len(key) > MAX_KEY_LENGTH:
        return None
    found = db.session.execute(_find_statement(), {"key_hash": _hash(key)}).unique().first()
    if found is None or str(found[0].user_id) != user_id:
        return None
    remember_unread(found[2])
    settings.remember_stored(found[3:])
    return found[0], found[1]


def timed_out(row: UserSession, *, now: datetime) -> str | None:
    """'idle' or 'absolute' when the session has run out, else None."""
    if now - row.created_at > timedelta(hours=settings.get("SESSION_MAX_HOURS")):
        return "absolute"
    if now - row.last_seen_at > timedelta(minutes=settings.get("SESSION_IDLE_MINUTES")):
        return "idle"
    return None


def load(value: str | None, *, now: datetime) -> User | None:
    """Flask-Login's loader: the user of a live session, or None (and a timed-out
    session is ended, audited and remembered for the login page's message)."""
    found = find(value)
    if found is None:
        return None
    row, user = found
    if row.ended_at is not None or not user.is_active or not user.unit.is_active:
        if has_request_context():
            session.pop("_user_id", None)  # a dead id: stop looking it up on every request
        return None
    if user.mfa_enabled_at is not None and not row.mfa_passed:
        return None
    reason = timed_out(row, now=now)
    if reason:
        defer(
            update(UserSession)
            .where(UserSession.id == row.id, UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        event(
            "auth.timeout",
            user=user,
            obj=row,
            detail={
                "reason": reason,
                "created_at": row.created_at.isoformat(),
                "last_seen_at": row.last_seen_at.isoformat(),
            },
            now=now,
        )
        if has_request_context():
            g.session_timeout = reason
            session.pop("_user_id", None)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        defer(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
    if has_request_context():
        g.user_session = row
    return user


def current() -> UserSession | None:
    """This request's session row (set by the loader), if any."""
    return g.get("user_session") if has_request_context() else None


def timeout_message() -> str | None:
    """The Chinese message for a session that ran out in this request, if one did."""
    reason = g.get("session_timeout") if has_request_context() else None
    if not reason:
        return None
    return TIMEOUT_MESSAGES[reason].format(
        idle=settings.get("SESSION_IDLE_MINUTES"), hours=settings.get("SESSION_MAX_HOURS")
    )


def end_all(user: User, *, reason: str, now: datetime, actor: Any = None) -> int:
    """End every open session of the user and revoke all their API tokens (logout,
    password change, reset, deactivation): a copied cookie or token stops working."""
    from app.api import tokens

    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason[:20])
        .execution_options(synchronize_session=False)
    )
    tokens.revoke_all(user, reason=reason, now=now, actor=actor)
    db.session.flush()
    return result.rowcount or 0


def keep_loaded(user: User) -> None:
    """Before the login's commit: take the user — with its unit and roles, as loaded —
    out of the ORM session. The rest of the request (Flask-Login, the landing page,
    the audit rows written after the commit and a rollback) then reads it as it is
    instead of loading it again after each: 6 of a login's 18 statements. Its own
    writes are flushed first and committed with the rest."""
    user.unit, user.role_rows  # noqa: B018 — loaded now, while the session can still load them
    db.session.flush()
    db.session.expunge(user)  # its role rows go with it (cascade "all")
    if user.unit in db.session:
        db.session.expunge(user.unit)


def log_in(user: User, key: str) -> None:
    """Start the browser's new session: nothing planted in the cookie before the login
    survives it, and Flask-Login's id names the server-side session."""
    session.clear()
    login_user(user)
    session["_user_id"] = session_id(user.id, key)


# ---------------------------------------------------------------- bookkeeping after the request


def defer(statement: Any) -> None:
    """A small bookkeeping write (last seen, a session that ran out, a token's last use),
    done after the request's own transaction so it never rides along with — or is lost
    by — the request's work. Outside a request it runs at once (the caller commits)."""
    if has_request_context():
        g.setdefault("_auth_deferred", []).append(statement)
    else:
        db.session.execute(statement)


def write_deferred() -> None:
    """Run what `defer` queued, in a transaction of its own."""
    statements = g.pop("_auth_deferred", None) if has_request_context() else None
    if not statements:
        return
    db.session.rollback()
    begin_writes()
    try:
        for statement in statements:
            db.session.execute(statement)
        db.session.commit()
    except Exception:  # bookkeeping must not fail the request it follows; the next one retries
        db.session.rollback()
        current_app.logger.exception("会话记录更新失败")
