"""Issue, check, list and revoke API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update

from app.api.models import ApiToken
from app.audit.services import event
from app.extensions import db
from app.org.models import User

TOKEN_DAYS = 30
# last_used_at is written at most this often (a write per API call would cost too much).
TOUCH_EVERY = timedelta(minutes=1)
REASONS = {
    "owner": "本人撤销",
    "secadmin": "安全管理员撤销",
    "logout": "退出登录",
    "password": "修改密码",
    "reset": "管理员重置密码",
    "deactivated": "账号停用",
    "mfa_reset": "重置双因素认证",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, *, now: datetime, label: str = "API") -> str:
    """A new random token for `user`, valid for TOKEN_DAYS; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_hash(token),
            label=(label or "API")[:50],
            created_at=now,
            expires_at=now + timedelta(days=TOKEN_DAYS),
        )
    )
    db.session.flush()
    return token


def row_for(token: str) -> ApiToken | None:
    """The stored row behind a presented token (revoked or not), or None."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))


def user_for(token: str, *, now: datetime) -> User | None:
    """The active user behind a valid, unexpired, unrevoked token (its last use noted
    at most once a minute, after the request)."""
    row = row_for(token)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or not user.unit.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        from app.auth.sessions import defer

        defer(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return user


def of_user(user: User) -> Select:
    """SELECT of a user's tokens, newest first."""
    return (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def in_units(unit_ids: Select) -> Select:
    """SELECT of (token, owner) for the users of these units, newest first."""
    return (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(User.unit_id.in_(unit_ids))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def get_or_404(token_id: int, user: Any) -> ApiToken:
    """A token the user may revoke (their own; the 安全管理员: their subtree's), else 404."""
    from flask import abort

    from app import authz

    row = db.session.get(ApiToken, token_id)
    if row is None or not authz.can(user, "token.revoke", row):
        abort(404)
    return row


def revoke(row: ApiToken, *, reason: str, now: datetime, actor: Any = None) -> bool:
    """Revoke one token; False when it was already revoked."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    row.revoked_reason = reason[:20]
    db.session.flush()
    event(
        "token.revoked",
        user=actor,
        obj=row,
        detail={"owner_id": row.user_id, "label": row.label, "reason": reason},
        now=now,
    )
    return True


def revoke_all(user: User, *, reason: str, now: datetime, actor: Any = None) -> int:
    """Revoke every live token of a user (logout, password change, reset, deactivation)."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:20])
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0
    if count:
        event(
            "token.revoked",
            user=actor or user,
            object_type="User",
            object_id=user.id,
            detail={"owner_id": user.id, "count": count, "reason": reason},
            now=now,
        )
    return count
