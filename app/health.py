"""Readiness (`/readyz`) and the 系统状态 page: is the database reachable, may the app
write its upload directory, is the scheduler alive?

The scheduler counts as alive while its heartbeat (app.background.lock, renewed every
HEARTBEAT_SECONDS = 20 s) is younger than two beats. /readyz is for monitoring
(Zabbix, a cron probe); a load balancer should keep probing /healthz, or one stopped
scheduler would take every web server out of service."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import text

from app.extensions import db


def heartbeat_max_age() -> timedelta:
    from app.background.lock import HEARTBEAT_SECONDS

    return timedelta(seconds=int(current_app.config.get("READY_HEARTBEAT_SECONDS") or 2 * HEARTBEAT_SECONDS))


@dataclass
class Check:
    name: str
    ok: bool
    message: str  # Chinese, for people; no paths or host names (anonymous callers read it)
    detail: dict[str, Any] = field(default_factory=dict)  # for the admin page only


def check_database() -> Check:
    try:
        db.session.execute(text("SELECT 1"))
        return Check("database", True, "数据库连接正常")
    except Exception as exc:  # noqa: BLE001 — a probe reports, it doesn't raise
        db.session.rollback()
        return Check("database", False, "数据库无法连接", {"error": type(exc).__name__})


def check_upload_dir() -> Check:
    """Create UPLOAD_DIR if missing (as the first upload would), then write and delete a file in it."""
    path = Path(current_app.config["UPLOAD_DIR"])
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".readyz-", dir=path)
        os.close(fd)
        os.unlink(name)
        return Check("upload_dir", True, "上传目录可写", {"path": str(path)})
    except OSError as exc:
        return Check(
            "upload_dir",
            False,
            "上传目录不存在或不可写",
            {"path": str(path), "error": exc.strerror or type(exc).__name__},
        )


def check_scheduler(now: datetime) -> Check:
    from app.background import lock

    limit = int(heartbeat_max_age().total_seconds())
    try:
        found = lock.status(now=now)
    except Exception:  # noqa: BLE001 — the database check says why
        db.session.rollback()
        return Check("scheduler", False, "无法读取定时任务心跳（数据库不可用）")
    if found is None:
        return Check("scheduler", False, "定时任务进程未运行：没有心跳记录")
    detail = {
        "holder": found.holder,
        "started_at": found.started_at,
        "heartbeat_at": found.heartbeat_at,
        "age_seconds": found.age_seconds,
        "limit_seconds": limit,
    }
    if found.age_seconds >= limit:
        return Check(
            "scheduler",
            False,
            f"定时任务进程心跳已过期：最近一次在 {found.age_seconds} 秒前（应在 {limit} 秒内）",
            detail,
        )
    return Check("scheduler", True, f"定时任务进程正常，最近心跳在 {found.age_seconds} 秒前", detail)


def readiness(now: datetime) -> list[Check]:
    database = check_database()
    checks = [database, check_upload_dir()]
    if database.ok:
        checks.append(check_scheduler(now))
    else:
        checks.append(Check("scheduler", False, "无法读取定时任务心跳（数据库不可用）"))
    return checks


def last_sweep() -> Any:
    """The newest finished daily sweep, for the 系统状态 page."""
    from sqlalchemy import select

    from app.reminders.models import SweepRun

    return db.session.scalar(
        select(SweepRun)
        .where(SweepRun.job == "sweep", SweepRun.dry_run.is_(False))
        .order_by(SweepRun.started_at.desc(), SweepRun.id.desc())
        .limit(1)
    )


def last_backup() -> dict | None:
    """The newest backup (app.backup, issue 13 item 3), or None when there is none yet."""
    from app import backup

    return backup.last_backup()
