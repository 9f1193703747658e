"""Issue and check API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from app.api.models import ApiToken
from app.extensions import db
from app.org.models import User

TOKEN_DAYS = 30


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, *, now: datetime) -> str:
    """A new random token for `user`, valid for TOKEN_DAYS; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=TOKEN_DAYS),
        )
    )
    db.session.flush()
    return token


def user_for(token: str, *, now: datetime) -> User | None:
    """The active user behind a valid, unexpired, unrevoked token."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or not user.unit.is_active:
        return None
    return user
