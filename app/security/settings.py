"""Effective security settings: the 安全管理员's value where one is saved, else the config.

Each setting is declared once here (label, type, bounds), so the settings page, the
checks that use them and the 等保 report read the same value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import select

from app.errors import ServiceError
from app.extensions import db
from app.security.models import SecuritySetting


@dataclass(frozen=True)
class Setting:
    key: str  # also the config name
    label: str
    kind: str  # int / roles
    minimum: int = 0
    maximum: int = 0
    help: str = ""


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("PASSWORD_EXPIRY_DAYS", "密码有效期（天）", "int", 0, 3650, "0 表示不过期"),
        Setting("SESSION_IDLE_MINUTES", "无操作自动退出（分钟）", "int", 5, 240),
        Setting("SESSION_MAX_HOURS", "单次登录最长有效（小时）", "int", 1, 72),
        Setting("LOGIN_MAX_FAILURES", "同一账号同一地址连续失败几次后延迟", "int", 3, 20),
        Setting("LOGIN_MAX_FAILURES_PER_IP", "同一地址失败几次后锁定其尝试过的账号", "int", 5, 1000),
        Setting("LOGIN_LOCK_MAX_MINUTES", "登录延迟上限（分钟）", "int", 1, 1440),
        Setting("MFA_REQUIRED_ROLES", "必须启用双因素认证的角色", "roles"),
    )
}


def _stored() -> dict[str, str]:
    cache = g.get("_security_settings") if has_request_context() else None
    if cache is not None:
        return cache
    rows = {r.key: r.value for r in db.session.scalars(select(SecuritySetting))}
    if has_request_context():
        g._security_settings = rows
    return rows


def stored_columns() -> list[Any]:
    """Scalar subqueries of the stored value of each setting, for a statement every
    request runs anyway (the session's: `app.auth.sessions.find`), so that reading the
    settings costs no statement of its own."""
    return [
        select(SecuritySetting.value).where(SecuritySetting.key == key).scalar_subquery() for key in SETTINGS
    ]


def remember_stored(values: Any) -> None:
    """This request's stored settings, as `stored_columns` read them (None: not stored)."""
    if has_request_context():
        g._security_settings = {key: v for key, v in zip(SETTINGS, values, strict=True) if v is not None}


def get(key: str) -> Any:
    """The effective value of one setting."""
    spec = SETTINGS[key]
    raw = _stored().get(key)
    if raw is None:
        value = current_app.config.get(key)
        if spec.kind == "roles":
            return tuple(value or ())
        return int(value or 0)
    if spec.kind == "roles":
        return tuple(r for r in raw.split(",") if r)
    return int(raw)


def parse(key: str, raw: Any) -> str:
    """Check one submitted value; return it as stored text."""
    from app.org.models import ROLES

    spec = SETTINGS.get(key)
    if spec is None:
        raise ServiceError("未知的安全设置项。")
    if spec.kind == "roles":
        roles = [r for r in (raw or []) if r]
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ServiceError(f"未知的角色：{'、'.join(map(str, unknown))[:100]}。", key)
        return ",".join(dict.fromkeys(roles))
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ServiceError(f"{spec.label}须为整数。", key) from None
    if not spec.minimum <= value <= spec.maximum:
        raise ServiceError(f"{spec.label}须在 {spec.minimum}–{spec.maximum} 之间。", key)
    return str(value)


def save(actor: Any, values: dict[str, Any], *, now: datetime) -> dict[str, tuple[Any, Any]]:
    """Store changed settings; journal and return {key: (before, after)}."""
    from app.audit.services import event
    from app.journal import record

    changes: dict[str, tuple[Any, Any]] = {}
    parsed = {key: parse(key, raw) for key, raw in values.items()}
    for key, text in parsed.items():
        before = get(key)
        row = db.session.get(SecuritySetting, key)
        if row is None:
            row = SecuritySetting(
                key=key, value=text, updated_at=now, updated_by_id=getattr(actor, "id", None)
            )
            db.session.add(row)
        else:
            row.value, row.updated_at, row.updated_by_id = text, now, getattr(actor, "id", None)
        if has_request_context():
            g.pop("_security_settings", None)
        after = get(key)
        if before != after:
            changes[key] = (before, after)
    db.session.flush()
    if changes:
        before = {k: list(v[0]) if isinstance(v[0], tuple) else v[0] for k, v in changes.items()}
        after = {k: list(v[1]) if isinstance(v[1], tuple) else v[1] for k, v in changes.items()}
        record(actor, "security.settings", actor, before, after, now=now)
        event("security.settings", user=actor, detail={"before": before, "after": after}, now=now)
    return changes
