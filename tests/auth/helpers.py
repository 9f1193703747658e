"""Helpers for the identification tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.auth.models import UserSession
from app.timeutil import utcnow
from tests import factories


def post_login(client, username, password=factories.PASSWORD, ip="10.0.0.1", **kw):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip}, **kw
    )


def audit_rows(db, action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )


def open_sessions(db, user) -> list[UserSession]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        )
    )


def code_at(secret: str, when: datetime | None = None) -> str:
    """The TOTP code an authenticator app shows at `when` (naive UTC), default now."""
    when = when or utcnow()
    return pyotp.TOTP(secret).at(when.replace(tzinfo=UTC))
