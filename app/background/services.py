"""Background jobs: queue one, cancel it, claim it (one scheduler, never two), finish it,
and keep or drop what it made. The state of a job is changed by single UPDATE
statements that say which state they expect (`WHERE state = 'queued'` …), so that a
job is claimed once, finished once, and a cancel never overwrites a result."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.background.models import FINISHED, BackgroundJob
from app.background.registry import KINDS
from app.errors import ServiceError
from app.extensions import db, reading

RESULT_DAYS = 7  # results are kept this long (JOB_RESULT_DAYS), then deleted by the nightly run
INTERRUPTED = "后台任务进程在执行该任务时中断（重启或崩溃），任务已终止，未保存任何结果。请重新提交。"
CANCELLED = "已按您的要求取消，未保存任何结果。"
FINISHED_ALREADY = "该任务已经结束，不能取消。"


def this_process() -> str:
    """host:pid, as a job's runner and the scheduler lock's holder are named."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _bump() -> dict:
    return {"version": BackgroundJob.version + 1}


# ---------------------------------------------------------------- files


def jobs_dir() -> Path:
    """UPLOAD_DIR/jobs: uploads waiting for their job, and each job's result."""
    path = Path(current_app.config["UPLOAD_DIR"]) / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(data: bytes, filename: str) -> str:
    """Keep an uploaded file for the job that will read it; returns its name under jobs/."""
    suffix = Path(filename or "").suffix.lower()
    suffix = suffix if suffix in (".xlsx", ".csv", ".txt") else ""
    folder = jobs_dir() / "uploads"
    folder.mkdir(exist_ok=True)
    name = f"uploads/{uuid.uuid4().hex}{suffix}"
    (jobs_dir() / name).write_bytes(data)
    return name


def read_upload(name: str) -> bytes:
    path = _inside_jobs_dir(name)
    if path is None or not path.is_file():
        raise ServiceError("上传的文件已不在服务器上（可能已过期清理），请重新上传。")
    return path.read_bytes()


def drop_upload(name: str | None) -> None:
    path = _inside_jobs_dir(name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)


def result_path(job: BackgroundJob) -> Path | None:
    """The job's result file, if it has one that is still on disk."""
    path = _inside_jobs_dir(job.result_path) if job.result_path else None
    return path if path is not None and path.is_file() else None


def _inside_jobs_dir(name: str) -> Path | None:
    base = jobs_dir().resolve()
    path = (base / name).resolve()
    return path if path.is_relative_to(base) and path != base else None


def drop_job_files(job_id: int) -> None:
    """Whatever a job left on disk (its result, or a half-written one)."""
    shutil.rmtree(jobs_dir() / str(job_id), ignore_errors=True)


# ---------------------------------------------------------------- the owner's side


def enqueue(actor: Any, kind: str, params: dict, *, now: datetime, total: int | None = None) -> BackgroundJob:
    """Queue a job for the scheduler process to run as `actor`. Flushes."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = BackgroundJob(
        kind=kind,
        owner_id=actor.id,
        unit_id=actor.unit_id,
        params=params,
        state="queued",
        done=0,
        total=total,
        created_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


def active_job(actor: Any, kind: str, **params: Any) -> BackgroundJob | None:
    """The owner's queued or running job of this kind with these parameters, if any
    (so that a second click joins the first job instead of starting another)."""
    candidates = db.session.scalars(
        select(BackgroundJob)
        .where(
            BackgroundJob.owner_id == actor.id,
            BackgroundJob.kind == kind,
            BackgroundJob.state.in_(("queued", "running")),
        )
        .order_by(BackgroundJob.id.desc())
    )
    for job in candidates:
        if all((job.params or {}).get(k) == v for k, v in params.items()):
            return job
    return None


def enqueue_once(
    actor: Any, kind: str, params: dict, *, now: datetime, total: int | None = None
) -> BackgroundJob:
    """The owner's job of this kind with these parameters that is already queued or
    running (a second click joins it), or a new one."""
    return active_job(actor, kind, **params) or enqueue(actor, kind, params, now=now, total=total)


def request_cancel(actor: Any, job: BackgroundJob, *, now: datetime) -> str:
    """A queued job is cancelled at once; a running one is asked to stop at its next
    batch (it rolls back: nothing of it is saved). Returns "cancelled" or "cancelling"."""
    if job.owner_id != actor.id:
        raise ServiceError("只能取消自己提交的任务。")
    queued = db.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job.id, BackgroundJob.state == "queued")
        .values(state="cancelled", cancel_requested=True, finished_at=now, message=CANCELLED, **_bump())
    ).rowcount
    if queued:
        drop_upload((job.params or {}).get("upload"))
        return "cancelled"
    running = db.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job.id, BackgroundJob.state == "running")
        .values(cancel_requested=True, **_bump())
    ).rowcount
    if not running:
        raise ServiceError(FINISHED_ALREADY)
    return "cancelling"


# ---------------------------------------------------------------- the scheduler's side


def claim_next(runner: str, *, now: datetime) -> int | None:
    """Take the oldest queued job for this process and commit: the UPDATE only matches
    a job still queued, so of two processes asking at once exactly one gets it."""
    for _ in range(20):
        with reading():  # an idle poll every 2 s must not take SQLite's write lock
            job_id = db.session.scalar(
                select(BackgroundJob.id)
                .where(BackgroundJob.state == "queued")
                .order_by(BackgroundJob.id)
                .limit(1)
            )
            db.session.rollback()
        if job_id is None:
            return None
        taken = db.session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.state == "queued")
            .values(state="running", started_at=now, progress_at=now, runner=runner[:100], **_bump())
        ).rowcount
        db.session.commit()
        if taken:
            return job_id
    return None


def finish(
    job_id: int,
    state: str,
    *,
    now: datetime,
    message: str,
    result: dict | None = None,
    file: tuple[str, str, int] | None = None,
    done: int | None = None,
) -> bool:
    """Record the end of a running job (in the caller's transaction). `file`: (path
    under jobs/, download name, size). False if the job was not running any more."""
    values: dict[str, Any] = {
        "state": state,
        "finished_at": now,
        "progress_at": now,
        "message": message[:2000],
        "result": result,
    }
    if file is not None:
        values.update(result_path=file[0], result_filename=file[1][:255], result_size=file[2])
    if done is not None:
        values["done"] = done
    return bool(
        db.session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.state == "running")
            .values(**values, **_bump())
        ).rowcount
    )


def fail_interrupted(*, now: datetime) -> int:
    """At the scheduler's start (with its lock held, so no other scheduler is running):
    every job still marked running was cut off by a crash or restart. Its own work was
    one transaction that never committed; say so, and drop any half-written file."""
    ids = list(db.session.scalars(select(BackgroundJob.id).where(BackgroundJob.state == "running")))
    if not ids:
        return 0
    db.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id.in_(ids), BackgroundJob.state == "running")
        .values(state="failed", finished_at=now, message=INTERRUPTED, **_bump())
    )
    db.session.commit()
    for job_id in ids:
        drop_job_files(job_id)
    return len(ids)


def purge_results(*, now: datetime, days: int | None = None) -> dict[str, int]:
    """The nightly clean-up: result files of jobs finished more than `days` ago, and
    uploads no job needs any more (a job that ended, or an upload older than that)."""
    days = days if days is not None else int(current_app.config.get("JOB_RESULT_DAYS", RESULT_DAYS))
    cutoff = now - timedelta(days=days)
    old = db.session.execute(
        select(BackgroundJob.id, BackgroundJob.params)
        .where(
            BackgroundJob.state.in_(FINISHED),
            BackgroundJob.finished_at < cutoff,
            BackgroundJob.result_path.is_not(None),
        )
        .order_by(BackgroundJob.id)
    ).all()
    for job_id, params in old:
        drop_job_files(job_id)
        drop_upload((params or {}).get("upload"))
    if old:
        db.session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id.in_([job_id for job_id, _ in old]))
            .values(result_path=None, result_size=None, **_bump())
        )
    waiting = {
        (p or {}).get("upload")
        for p in db.session.scalars(
            select(BackgroundJob.params).where(BackgroundJob.state.in_(("queued", "running")))
        )
    }
    stale = 0
    uploads = jobs_dir() / "uploads"
    for path in uploads.glob("*") if uploads.is_dir() else ():
        name = f"uploads/{path.name}"
        too_old = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None) < cutoff
        if name not in waiting and too_old:
            path.unlink(missing_ok=True)
            stale += 1
    return {"results": len(old), "uploads": stale}


# ---------------------------------------------------------------- at once, or in the background


def sheet_rows(filename: str, data: bytes) -> int:
    """About how many rows an uploaded .xlsx/.csv has, found cheaply (the sheet's own
    dimension, or the line count), to choose between answering at once and queuing a
    job. A file it cannot open counts as small: reading it at once gives the user the
    format error straight away."""
    if data[:4] != b"PK\x03\x04":
        return data.count(b"\n") + 1
    import io

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # noqa: BLE001 — corrupt: let the reader say so
        return 0
    try:
        rows = book.worksheets[0].max_row if book.worksheets else 0
    except Exception:  # noqa: BLE001
        rows = None
    finally:
        book.close()
    return rows if rows is not None else len(data) // 50  # no dimension recorded: guess from size
