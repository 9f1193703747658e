"""One scheduler per installation, however many hosts: a row in the database names the
process that holds the lock (host:pid) and when it last said it was alive. A second
`flask scheduler` on the same database refuses to start while that heartbeat is fresh;
it takes over from a holder whose heartbeat is older than STALE_AFTER, or at once from
a holder on this same host whose process no longer exists (a crash, then a restart)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from app.background.models import SchedulerLock
from app.extensions import db
from app.timeutil import fmt_datetime

LOCK_NAME = "scheduler"
STALE_AFTER = timedelta(minutes=2)
HEARTBEAT_SECONDS = 20


class LockRefused(Exception):
    """Another scheduler holds the lock; the message says which and since when."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LockStatus:
    holder: str
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    age_seconds: int


def _refusal(row: SchedulerLock, now: datetime) -> str:
    age = max(0, int((now - row.heartbeat_at).total_seconds()))
    return (
        f"另一个定时任务进程（qiangji-scheduler）正在运行：{row.holder}，"
        f"最近一次心跳在 {fmt_datetime(row.heartbeat_at)}（{age} 秒前）。"
        "每套系统只能运行一个定时任务进程，本进程不启动。"
        f"若该进程确已停止，请在其心跳超过 {int(STALE_AFTER.total_seconds() // 60)} 分钟后再启动本服务。"
    )


def _gone_from_this_host(holder: str) -> bool:
    """The holder ran on this host and its process is gone (no need to wait 2 minutes)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(holder: str, *, now: datetime, stale_after: timedelta = STALE_AFTER) -> str | None:
    """Take the lock for `holder` (commits). Returns a note when it was taken over from
    a stopped holder; raises LockRefused while another holder is alive."""
    for _ in range(3):
        row = db.session.get(SchedulerLock, LOCK_NAME)
        if row is None:
            db.session.add(SchedulerLock(name=LOCK_NAME, holder=holder, started_at=now, heartbeat_at=now))
            try:
                db.session.commit()
            except IntegrityError:  # another scheduler inserted it at the same moment
                db.session.rollback()
                continue
            return None
        if (
            row.holder != holder
            and row.heartbeat_at > now - stale_after
            and not _gone_from_this_host(row.holder)
        ):
            message = _refusal(row, now)
            db.session.rollback()
            raise LockRefused(message)
        previous, beat = row.holder, row.heartbeat_at
        taken = db.session.execute(
            update(SchedulerLock)
            .where(
                SchedulerLock.name == LOCK_NAME,
                SchedulerLock.holder == previous,
                SchedulerLock.heartbeat_at == beat,
            )
            .values(holder=holder, started_at=now, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        db.session.expire_all()
        if taken:
            if previous == holder:
                return None
            return f"已接管定时任务锁：原持有者 {previous} 的最近心跳在 {fmt_datetime(beat)}，已停止。"
    row = db.session.get(SchedulerLock, LOCK_NAME)
    message = _refusal(row, now) if row is not None else "无法取得定时任务锁，请稍后重试。"
    db.session.rollback()
    raise LockRefused(message)


def heartbeat(holder: str, *, now: datetime) -> bool:
    """Renew the lock (commits). False: somebody else holds it now — stop at once."""
    renewed = db.session.execute(
        update(SchedulerLock)
        .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == holder)
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(renewed)


def release(holder: str) -> None:
    """Give the lock up at a clean stop, so the next start need not wait (commits)."""
    db.session.execute(
        delete(SchedulerLock)
        .where(SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == holder)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def status(*, now: datetime, stale_after: timedelta = STALE_AFTER) -> LockStatus | None:
    """Who holds the lock and whether its heartbeat is fresh (None: no scheduler ever
    started, or the last one stopped cleanly)."""
    row = db.session.get(SchedulerLock, LOCK_NAME)
    if row is None:
        return None
    return LockStatus(
        holder=row.holder,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        alive=row.heartbeat_at > now - stale_after,
        age_seconds=max(0, int((now - row.heartbeat_at).total_seconds())),
    )


def scheduler_alive(*, now: datetime) -> bool:
    found = status(now=now)
    return found is not None and found.alive
