"""Writing the audit log. Events raised during a request wait in `g` and are written
after the request's own transaction has ended, in a transaction of their own: a
refused or failed write is still recorded, and the log never holds a lock the
request needs. Outside a request (CLI, scheduler) an event is written at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import delete, func, select, text

from app.audit.chain import GENESIS, link_hash
from app.audit.models import AuditEntry
from app.errors import ServiceError
from app.extensions import begin_writes, db
from app.timeutil import utcnow

# Any fixed number: the PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK = 0x51A9_7001
RETENTION_DAYS = 180  # 网络安全法 第二十一条: network logs kept at least six months


@dataclass
class Event:
    action: str
    result: str = "success"
    user: Any = None
    object_type: str | None = None
    object_id: Any = None
    detail: dict | None = None
    ip: str | None = None
    at: datetime | None = None
    username: str | None = None
    extra: dict = field(default_factory=dict)


def client_ip() -> str | None:
    """The client's address as the app sees it (after ProxyFix for trusted proxies)."""
    return (request.remote_addr or None) if has_request_context() else None


def event(
    action: str,
    *,
    result: str = "success",
    user: Any = None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    detail: dict | None = None,
    username: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record one audit event: queued in a request, written at once elsewhere."""
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    ev = Event(
        action=action,
        result=result,
        user=user,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        ip=client_ip(),
        at=now,
        username=username,
    )
    if has_request_context():
        g.setdefault("audit_events", []).append(ev)
    else:
        write([ev])
        db.session.commit()


def pending() -> list[Event]:
    return g.get("audit_events", []) if has_request_context() else []


def _user_fields(user: Any) -> dict:
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", 0) <= 0:
        return {"user_id": None, "username": None, "unit_id": None, "unit_name": None}
    unit = getattr(user, "unit", None)
    return {
        "user_id": user.id,
        "username": user.username,
        "unit_id": user.unit_id,
        "unit_name": getattr(unit, "name", None),
    }


def _holds_admin_role(user: Any) -> bool:
    from app.org.models import ADMIN_ROLES

    has_role = getattr(user, "has_role", None)
    return bool(getattr(user, "is_authenticated", False) and has_role and has_role(*ADMIN_ROLES))


def _lock_chain() -> str:
    """Serialise appends and return the hash of the last row."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    # SQLite: every writing transaction already holds the database's write lock.
    last = db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


def _clip(value: Any, size: int) -> str | None:
    if value is None:
        return None
    return str(value)[:size]


def write(events: list[Event]) -> list[AuditEntry]:
    """Append events to the chain in the current transaction (the caller commits)."""
    if not events:
        return []
    prev = _lock_chain()
    rows = []
    for ev in events:
        fields = _user_fields(ev.user)
        detail = ev.detail
        if _holds_admin_role(ev.user) and not (detail or {}).get("admin"):
            detail = {**(detail or {}), "admin": True}  # every administrator action is marked
        if ev.username and not fields["username"]:
            fields["username"] = ev.username
        row = AuditEntry(
            at=ev.at or utcnow(),
            ip=_clip(ev.ip, 45),
            action=ev.action[:50],
            object_type=_clip(ev.object_type, 50),
            object_id=_clip(ev.object_id, 50),
            result=ev.result,
            detail=detail,
            prev_hash=prev,
            hash="",
            **{k: _clip(v, 100) if k in ("username", "unit_name") else v for k, v in fields.items()},
        )
        row.username = _clip(row.username, 50)
        row.hash = link_hash(prev, row)
        prev = row.hash
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows


def flush_request_events() -> None:
    """After the request's own transaction: write what it queued, in a new one.
    Views commit their own work; whatever is still open here would be discarded at
    teardown anyway, so it is rolled back first and never rides along."""
    events = pending()
    if not events:
        return
    g.audit_events = []
    db.session.rollback()
    begin_writes()
    try:
        write(events)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


@dataclass
class VerifyResult:
    rows: int
    broken_at: int | None  # id of the first row whose link does not hold
    reason: str | None
    head: str | None = None  # the last row's hash: kept outside the database, it pins the whole chain

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    def as_detail(self) -> dict:
        return {"rows": self.rows, "broken_at": self.broken_at, "reason": self.reason, "head": self.head}


def purge_anchors() -> set[str]:
    """Hashes a purge left as the new start of the chain (the first kept row's prev_hash)."""
    anchors = set()
    for detail in db.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "audit.purge")):
        if isinstance(detail, dict) and detail.get("anchor"):
            anchors.add(detail["anchor"])
    return anchors


def verify() -> VerifyResult:
    """Walk the chain in id order; report the first broken link, if any.

    A row edited in the database no longer matches its own hash; a row deleted,
    inserted or moved leaves the next row's prev_hash pointing at something else.
    To hide an edit one would have to recompute every later hash — which changes the
    head, so a head noted outside the database (the 等保 report, a printed check)
    gives it away."""
    anchors = purge_anchors()
    stmt = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=2000)
    rows = db.session.scalars(stmt)
    try:
        return _walk(rows, anchors)
    finally:
        rows.close()  # a break found early leaves a server-side cursor open


def _walk(rows: Any, anchors: set[str]) -> VerifyResult:
    prev: str | None = None
    count = 0
    for row in rows:
        count += 1
        expected_prev = prev if prev is not None else row.prev_hash
        if prev is None and row.prev_hash != GENESIS and row.prev_hash not in anchors:
            return VerifyResult(count, row.id, "首条记录的前序哈希既不是链首，也不是清理记录留下的锚点")
        if row.prev_hash != expected_prev:
            return VerifyResult(count, row.id, "前序哈希与上一条记录不符（记录被删除、插入或调换）")
        if link_hash(row.prev_hash, row) != row.hash:
            return VerifyResult(count, row.id, "记录内容与其哈希不符（记录被修改）")
        prev = row.hash
        db.session.expunge(row)
    return VerifyResult(count, None, None, head=prev)


def purge(before: datetime, *, today_utc: datetime, actor: Any = None, note: dict | None = None) -> int:
    """Delete rows older than `before` — never younger than RETENTION_DAYS — and
    record the purge itself, with the hash the remaining chain now starts from."""
    from datetime import timedelta

    limit = today_utc - timedelta(days=RETENTION_DAYS)
    if before > limit:
        raise ServiceError(
            f"审计日志至少保留 {RETENTION_DAYS} 天（网络安全法第二十一条），"
            f"只能清理 {limit:%Y-%m-%d} 之前的记录。"
        )
    _lock_chain()
    cut = db.session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.at >= before))
    stmt = delete(AuditEntry).where(AuditEntry.at < before)
    if cut is not None:
        stmt = delete(AuditEntry).where(AuditEntry.id < cut)
    deleted = db.session.execute(stmt).rowcount or 0
    first = db.session.scalar(select(AuditEntry.prev_hash).order_by(AuditEntry.id).limit(1))
    write(
        [
            Event(
                action="audit.purge",
                user=actor,
                detail={"before": before.isoformat(), "deleted": deleted, "anchor": first, **(note or {})},
                username=None if actor else "system",
            )
        ]
    )
    return deleted
