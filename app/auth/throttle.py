"""Login throttling that cannot be turned against an account's owner.

Failures count per (account, address): after LOGIN_MAX_FAILURES of them the pair
waits 1, 2, 4 … minutes (at most LOGIN_LOCK_MAX_MINUTES) from its latest failure.
An address past LOGIN_MAX_FAILURES_PER_IP failures in all is held back the same way,
but only for the accounts it has failed on. So the right password from an address
that has not failed is never refused, and nobody can lock an owner out from afar.
Failures count within LOGIN_WINDOW_HOURS, after the pair's last success, and not
once the 安全管理员 has cleared them. The typed name counts whether or not such an
account exists, so the throttle says nothing about which usernames exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from app.audit.services import event
from app.auth.models import LoginAttempt
from app.errors import ServiceError
from app.extensions import db
from app.security import settings


class LoginThrottled(ServiceError):
    status = 429


@dataclass(frozen=True)
class Lock:
    username: str
    ip: str
    failures: int  # the pair's failures that count
    until: datetime
    address_failures: int  # the address's failures, all accounts


def key(username: str | None) -> str:
    """How a typed username is counted (case-insensitive, as accounts are)."""
    return (username or "").strip().lower()[:50]


def _window_start(now: datetime) -> datetime:
    return now - timedelta(hours=current_app.config["LOGIN_WINDOW_HOURS"])


def _delay(over: int) -> timedelta:
    """1, 2, 4 … minutes for the 0th, 1st, 2nd … failure past the limit, capped."""
    cap = settings.get("LOGIN_LOCK_MAX_MINUTES")
    return timedelta(minutes=min(2 ** min(over, 20), cap))


def _pairs(now: datetime, *, username: str | None = None, ip: str | None = None):
    """(username, ip, failures, newest) per pair: uncleared failures in the window
    after the pair's last success."""
    since = _window_start(now)
    A = LoginAttempt
    ok = select(A.username, A.ip, func.max(A.at).label("last_ok")).where(A.success.is_(True), A.at >= since)
    fail = select(A.username, A.ip, func.count().label("n"), func.max(A.at).label("newest"))
    if username is not None:
        ok, fail = ok.where(A.username == username), fail.where(A.username == username)
    if ip is not None:
        ok, fail = ok.where(A.ip == ip), fail.where(A.ip == ip)
    last_ok = ok.group_by(A.username, A.ip).subquery()
    stmt = (
        fail.outerjoin(last_ok, and_(last_ok.c.username == A.username, last_ok.c.ip == A.ip))
        .where(
            A.success.is_(False),
            A.cleared_at.is_(None),
            A.at >= since,
            or_(last_ok.c.last_ok.is_(None), A.at > last_ok.c.last_ok),
        )
        .group_by(A.username, A.ip)
    )
    return db.session.execute(stmt).all()


def _addresses(now: datetime, *, ip: str | None = None) -> dict[str, tuple[int, datetime]]:
    """Uncleared failures in the window per address: {ip: (count, newest)}."""
    A = LoginAttempt
    stmt = select(A.ip, func.count(), func.max(A.at)).where(
        A.success.is_(False), A.cleared_at.is_(None), A.at >= _window_start(now)
    )
    if ip is not None:
        stmt = stmt.where(A.ip == ip)
    return {row[0]: (row[1], row[2]) for row in db.session.execute(stmt.group_by(A.ip))}


def _until(failures: int, newest: datetime, address: tuple[int, datetime] | None) -> datetime | None:
    """When a pair with these failures may try again (None: it is not held back)."""
    limit = settings.get("LOGIN_MAX_FAILURES")
    per_ip = settings.get("LOGIN_MAX_FAILURES_PER_IP")
    candidates = []
    if failures >= limit:
        candidates.append(newest + _delay(failures - limit))
    if failures >= 1 and address is not None and address[0] >= per_ip:
        candidates.append(address[1] + _delay(address[0] - per_ip))
    return max(candidates) if candidates else None


def locked_until(username: str, ip: str, *, now: datetime) -> datetime | None:
    """Until when this (account, address) pair must wait, or None."""
    rows = _pairs(now, username=key(username), ip=ip)
    if not rows:
        return None  # an address that has not failed on this account is never held back
    _, _, failures, newest = rows[0]
    until = _until(failures, newest, _addresses(now, ip=ip).get(ip))
    return until if until and until > now else None


def check(username: str, ip: str, *, now: datetime) -> None:
    """Raise LoginThrottled while this pair must wait (audited as a failed login)."""
    until = locked_until(username, ip, now=now)
    if until is None:
        return
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    event(
        "auth.login_failed",
        result="failure",
        username=key(username) or "-",
        detail={"reason": "locked", "until": until.isoformat()},
        now=now,
    )
    raise LoginThrottled(
        f"登录失败次数过多，请 {minutes} 分钟后再试。如忘记密码，请联系本单位安全管理员重置。"
    )


def record(username: str, ip: str, success: bool, *, now: datetime) -> None:
    db.session.add(LoginAttempt(username=key(username), ip=(ip or "-")[:45], at=now, success=success))
    db.session.flush()


def current_locks(now: datetime) -> list[Lock]:
    """Every (account, address) pair held back now, latest first."""
    addresses = _addresses(now)
    locks = []
    for username, ip, failures, newest in _pairs(now):
        address = addresses.get(ip)
        until = _until(failures, newest, address)
        if until and until > now:
            locks.append(Lock(username, ip, failures, until, address[0] if address else failures))
    return sorted(locks, key=lambda lock: (lock.until, lock.username), reverse=True)


def unlock(actor: Any, username: str, ip: str, *, now: datetime) -> int:
    """The 安全管理员 lifts a pair's lock: its failures no longer count (cleared_at)."""
    username, ip = key(username), (ip or "")[:45]
    A = LoginAttempt
    cleared = (
        db.session.execute(
            update(A)
            .where(
                A.username == username,
                A.ip == ip,
                A.success.is_(False),
                A.cleared_at.is_(None),
                A.at >= _window_start(now),
            )
            .values(cleared_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    if not cleared:
        raise ServiceError("该账号在该地址没有待解除的登录失败记录。")
    event("security.unlock", user=actor, detail={"username": username, "ip": ip, "cleared": cleared}, now=now)
    return cleared
