"""Display tokens (上墙): made and revoked by admins, journaled; looked up by hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from app.dashboard.models import DisplayToken
from app.errors import ServiceError, check_version
from app.extensions import db
from app.journal import record, snapshot
from app.org.models import Unit
from app.validation import allow, clean_text

FIELDS = ("unit_id", "label", "revoked_at", "revoked_by_id")
SEEN_EVERY = timedelta(minutes=10)  # how often a screen's last visit is written down


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_display(actor: Any, unit: Unit, *, label: str, now: datetime) -> tuple[DisplayToken, str]:
    """A new token for `unit`'s wall; returns it and the raw token (shown once). Flushes."""
    allow(actor, "display.manage", unit, "只有本单位或上级单位的系统管理员可以设置上墙显示屏。")
    if not unit.is_active:
        raise ServiceError(f"单位“{unit.name}”已停用，不能设置显示屏。", "unit_id")
    raw = secrets.token_urlsafe(24)
    token = DisplayToken(
        unit_id=unit.id,
        label=clean_text(label, "显示屏名称", max_len=100),
        token_hash=_hash(raw),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(token)
    db.session.flush()
    record(actor, "display.create", token, None, snapshot(token, FIELDS), unit_id=unit.id, now=now)
    return token, raw


def revoke_display(actor: Any, token: DisplayToken, *, expected_version: Any, now: datetime) -> DisplayToken:
    """Revoke: the screen shows “已停用” at its next refresh. Revoking twice is a no-op."""
    allow(actor, "display.manage", token.unit, "只有本单位或上级单位的系统管理员可以停用上墙显示屏。")
    check_version(token, expected_version)
    if token.revoked_at is not None:
        return token
    before = snapshot(token, FIELDS)
    token.revoked_at, token.revoked_by_id = now, actor.id
    db.session.flush()
    record(actor, "display.revoke", token, before, snapshot(token, FIELDS), unit_id=token.unit_id, now=now)
    return token


def find_display(raw: str) -> DisplayToken | None:
    """The token for this raw value, revoked or not (None when unknown)."""
    if not raw or len(raw) > 100:
        return None
    return db.session.scalar(select(DisplayToken).where(DisplayToken.token_hash == _hash(raw)))


def touch(token: DisplayToken, now: datetime) -> bool:
    """Note that the screen is alive — at most every ten minutes, not journaled (it
    is telemetry, not an edit, so it does not bump the version an administrator's edit
    checks). Written after the page, in its own short transaction: the wall's reads never
    take the write lock. Returns whether anything was queued."""
    from app.auth.sessions import defer

    if token.last_seen_at is not None and now - token.last_seen_at < SEEN_EVERY:
        return False
    defer(update(DisplayToken).where(DisplayToken.id == token.id).values(last_seen_at=now))
    return True
