"""The second factor: TOTP (RFC 6238, pyotp) and ten one-time recovery codes.

A user is enrolled when `mfa_enabled_at` is set; the secret is then `mfa_secret`.
The QR code is drawn here as inline SVG (segno): no outside service, no script.
Recovery codes are kept as SHA-256 only; each 12-character code carries 60 random bits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import pyotp
import segno
from sqlalchemy import delete, func, select, update

from app.audit.services import event
from app.auth import sessions
from app.auth.models import RecoveryCode, UserSession
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.org.models import User
from app.security import settings

ISSUER = "强基通"
RECOVERY_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # 32 symbols, no 0/o, 1/l/i
RECOVERY_GROUPS = 3  # xxxx-xxxx-xxxx
TOTP_WINDOW = 1  # accept the previous and the next 30-second step (phone clocks drift)


def enrolled(user: Any) -> bool:
    return getattr(user, "mfa_enabled_at", None) is not None


def required(user: Any) -> bool:
    """One of the user's roles is in MFA_REQUIRED_ROLES (the 安全管理员 may change it)."""
    return bool(set(getattr(user, "roles", ())) & set(settings.get("MFA_REQUIRED_ROLES")))


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (markup only: no script, no style)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title="双因素认证二维码")


def _utc(now: datetime) -> datetime:
    # pyotp reads a naive datetime as local time; ours are naive UTC.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def totp_ok(secret: str | None, code: str | None, *, now: datetime) -> bool:
    code = re.sub(r"\s", "", code or "")
    if not secret or not re.fullmatch(r"\d{6}", code):
        return False
    return pyotp.TOTP(secret).verify(code, for_time=_utc(now), valid_window=TOTP_WINDOW)


def _normal(code: str) -> str:
    return re.sub(r"[\s\-]", "", code or "").lower()


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _new_recovery_codes(user: User, *, now: datetime) -> list[str]:
    """Replace the user's recovery codes with ten new ones; return them (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(RECOVERY_GROUPS))
        for _ in range(RECOVERY_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c), created_at=now) for c in codes)
    db.session.flush()
    return codes


def _use_recovery_code(user: User, code: str, *, now: datetime) -> bool:
    """Spend an unused recovery code; the UPDATE makes two requests unable to share one."""
    normal = _normal(code)
    if len(normal) != 4 * RECOVERY_GROUPS:
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return spent == 1


def verify(user: User, code: str | None, *, now: datetime) -> str | None:
    """'totp' or 'recovery' when the code is good (a recovery code is then spent), else None."""
    if not enrolled(user) or not code:
        return None
    if totp_ok(user.mfa_secret, code, now=now):
        return "totp"
    if _use_recovery_code(user, code, now=now):
        return "recovery"
    return None


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def _clear(user: User) -> None:
    user.mfa_secret = None
    user.mfa_enabled_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# ---------------------------------------------------------------- services


def enrol(
    user: User, secret: str, code: str, *, current_session: UserSession | None, now: datetime
) -> list[str]:
    """Turn the second factor on once the user proves their app shows `secret`'s codes;
    returns the ten recovery codes. The current session counts as passed."""
    if enrolled(user):
        raise ServiceError("您已启用双因素认证。")
    if not totp_ok(secret, code, now=now):
        raise ServiceError(
            "动态验证码不正确。请确认手机时间准确，并输入验证器中当前显示的 6 位数字。", "code"
        )
    user.mfa_secret = secret
    user.mfa_enabled_at = now
    codes = _new_recovery_codes(user, now=now)
    if current_session is not None:
        current_session.mfa_passed = True
    db.session.flush()
    record(user, "user.mfa_enrol", user, {"mfa": False}, {"mfa": True}, unit_id=user.unit_id, now=now)
    event("auth.mfa_enrolled", user=user, obj=user, now=now)
    return codes


def disable(user: User, code: str, *, now: datetime) -> None:
    """The user turns their own second factor off, with a current code from the app."""
    if not enrolled(user):
        raise ServiceError("您尚未启用双因素认证。")
    if required(user):
        raise ServiceError("您的角色必须使用双因素认证，不能关闭。如手机丢失，请联系安全管理员重置。")
    if not totp_ok(user.mfa_secret, code, now=now):
        event(
            "auth.mfa_disabled", result="failure", user=user, obj=user, detail={"reason": "bad code"}, now=now
        )
        raise ServiceError("动态验证码不正确，未关闭双因素认证。", "code")
    _clear(user)
    db.session.flush()
    record(user, "user.mfa_disable", user, {"mfa": True}, {"mfa": False}, unit_id=user.unit_id, now=now)
    event("auth.mfa_disabled", user=user, obj=user, now=now)


def reset(actor: User, user: User, *, now: datetime) -> None:
    """The 安全管理员 clears someone's second factor (a lost phone); their sessions and
    API tokens end, and they enrol again at their next login where it is required."""
    if not enrolled(user) and not user.mfa_secret:
        raise ServiceError(f"用户“{user.display_name}”未启用双因素认证。")
    _clear(user)
    sessions.end_all(user, reason="mfa_reset", now=now)
    db.session.flush()
    record(actor, "user.mfa_reset", user, {"mfa": True}, {"mfa": False}, unit_id=user.unit_id, now=now)
    event("auth.mfa_reset", user=actor, obj=user, detail={"username": user.username}, now=now)
