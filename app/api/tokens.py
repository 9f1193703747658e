"""Issue, check and revoke API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.api.models import ApiToken
from app.extensions import db
from app.org.models import User

TOKEN_DAYS = 30


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, *, now: datetime, label: str = "API") -> str:
    """A new random token for `user`, valid for TOKEN_DAYS; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_hash(token),
            label=label[:50],
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
    """The active user behind a valid, unexpired, unrevoked token."""
    row = row_for(token)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or not user.unit.is_active:
        return None
    return user


def revoke(row: ApiToken, *, reason: str, now: datetime) -> bool:
    """Revoke one token; False when it was already revoked."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    row.revoked_reason = reason[:20]
    db.session.flush()
    return True


def revoke_all(user: User, *, reason: str, now: datetime) -> int:
    """Revoke every live token of a user (logout, password change, reset, deactivation)."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:20])
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
