"""Running background jobs in the scheduler process (or, in tests, `run_pending(app)`).

A job's work is one transaction: what it writes is committed together with the job's
"done", or rolled back with its "failed"/"cancelled" — an import is never half-applied,
and a crash in the middle leaves the job "running" until the next scheduler start
marks it failed (services.fail_interrupted). Progress (rows done of total) is written
on a connection of its own so the page sees it while the work is still uncommitted;
the same look reads whether the owner asked to cancel."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.background import services
from app.background.models import BackgroundJob
from app.background.registry import KINDS, Outcome
from app.errors import ServiceError
from app.extensions import db, reading
from app.org.models import User
from app.timeutil import utcnow

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.25  # seconds between two progress writes of one job
CRASHED = "后台任务执行出错，未保存任何结果。请稍后重试；如仍出错，请联系管理员查看定时任务日志（{error}）。"


class JobCancelled(Exception):
    """The owner asked to stop: the job's transaction is rolled back."""


class JobContext:
    """What a job function gets: who asked (`owner`), what for (`params`), the time it
    started (`now`), and the means to report progress and keep a result file."""

    def __init__(self, job: BackgroundJob, owner: User, now: datetime):
        self.job_id = job.id
        self.kind = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.owner = owner
        self.now = now
        self.done = job.done or 0
        self.total = job.total
        self.file: tuple[str, str, int] | None = None
        self._last = 0.0

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Rows done (of total): shown on the job page within a second. Raises
        JobCancelled if the owner has asked to stop — call it between batches."""
        self.done = done
        if total is not None:
            self.total = total
        moment = time.monotonic()
        if not force and moment - self._last < PROGRESS_EVERY:
            return
        self._last = moment
        if _report(self.job_id, self.done, self.total):
            raise JobCancelled()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """A long read (an export): a deferred transaction that takes no write lock, ended
        when the block ends."""
        db.session.rollback()
        with reading():
            try:
                yield
            finally:
                db.session.rollback()

    def save_result(self, download_name: str, data: bytes) -> None:
        """Keep the job's result file under UPLOAD_DIR/jobs/<id>/ for the owner to download
        (written whole, then renamed: never a half-written file)."""
        folder = services.jobs_dir() / str(self.job_id)
        folder.mkdir(parents=True, exist_ok=True)
        suffix = Path(download_name).suffix.lower()[:10]
        part = folder / f".result{suffix}.part"
        part.write_bytes(data)
        os.replace(part, folder / f"result{suffix}")
        self.file = (f"{self.job_id}/result{suffix}", download_name, len(data))


def _report(job_id: int, done: int, total: int | None) -> bool:
    """Write done/total on a connection of its own and read cancel_requested. Never
    waits for SQLite's write lock: while the job's own transaction holds it (an import's
    final writing), the figure is skipped and the next batch tries again. Run in a
    context of its own: a job inside `reading()` still writes its progress."""
    return contextvars.Context().run(_write_and_read, db.engine, job_id, done, total)


def _write_and_read(engine: Engine, job_id: int, done: int, total: int | None) -> bool:
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection
        busy = raw.execute("PRAGMA busy_timeout").fetchone()[0] if sqlite else None
        if sqlite:
            raw.execute("PRAGMA busy_timeout=0")
        try:
            with conn.begin():
                conn.execute(
                    update(BackgroundJob)
                    .where(BackgroundJob.id == job_id, BackgroundJob.state == "running")
                    .values(done=done, total=total, progress_at=utcnow(), version=BackgroundJob.version + 1)
                )
        except OperationalError:
            pass  # the write lock is taken: progress is a hint, the next batch writes it
        finally:
            if sqlite:
                raw.execute(f"PRAGMA busy_timeout={int(busy)}")
        with reading(), conn.begin():
            return bool(conn.scalar(select(BackgroundJob.cancel_requested).where(BackgroundJob.id == job_id)))


def _cancel_requested(job_id: int) -> bool:
    """Read in the job's own transaction, just before it commits."""
    return bool(db.session.scalar(select(BackgroundJob.cancel_requested).where(BackgroundJob.id == job_id)))


def run_job(app: Flask, job_id: int) -> str:
    """Run one claimed job to its end in a fresh app context; returns its final state.
    Never raises: a job's failure is recorded on the job, never stops the scheduler."""
    with app.app_context():
        try:
            return _run(job_id)
        finally:
            db.session.remove()


def _run(job_id: int) -> str:
    job = db.session.get(BackgroundJob, job_id)
    if job is None or job.state != "running":
        db.session.rollback()
        return job.state if job is not None else "missing"
    kind = KINDS.get(job.kind)
    owner = db.session.get(User, job.owner_id)
    ctx = JobContext(job, owner, utcnow())
    upload = ctx.params.get("upload")
    refusal = (
        f"未知的后台任务类型“{job.kind}”，任务未执行。"
        if kind is None
        else ("提交该任务的账号已停用，任务未执行。" if owner is None or not owner.active else None)
    )
    db.session.rollback()  # hold no transaction (SQLite: no write lock) before the work starts
    try:
        if refusal:
            raise ServiceError(refusal)
        outcome: Outcome = kind.run(ctx)
        if _cancel_requested(job_id):
            raise JobCancelled()
        done = ctx.total if ctx.total is not None else ctx.done
        if not services.finish(
            job_id,
            "done",
            now=utcnow(),
            message=outcome.message,
            result=outcome.result,
            file=ctx.file,
            done=done,
        ):
            raise RuntimeError("job was no longer running")
        db.session.commit()  # the work and its "done" together
        state = "done"
    except JobCancelled:
        state = _end(job_id, "cancelled", services.CANCELLED)
    except ServiceError as exc:
        state = _end(job_id, "failed", exc.message)
    except Exception as exc:  # noqa: BLE001 — recorded on the job; the scheduler goes on
        log.exception("background job %s (%s) failed", job_id, ctx.kind)
        state = _end(job_id, "failed", CRASHED.format(error=type(exc).__name__))
    services.drop_upload(upload)
    return state


def _end(job_id: int, state: str, message: str) -> str:
    """Roll the job's work back and record why, in a transaction of its own."""
    db.session.rollback()
    services.drop_job_files(job_id)
    try:
        services.finish(job_id, state, now=utcnow(), message=message)
        db.session.commit()
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("could not record the end of background job %s", job_id)
    return state


def run_pending(app: Flask, *, limit: int | None = None) -> list[tuple[int, str]]:
    """Claim and run queued jobs one after another in this process until none is left
    (the scheduler's poller; tests call it to run what a request queued). Returns
    (job id, final state) of each. A caller's open transaction is committed first."""
    if has_app_context():
        db.session.commit()
    runner = services.this_process()
    ran: list[tuple[int, str]] = []
    while limit is None or len(ran) < limit:
        with app.app_context():
            try:
                job_id = services.claim_next(runner, now=utcnow())
            finally:
                db.session.remove()
        if job_id is None:
            break
        ran.append((job_id, run_job(app, job_id)))
    if has_app_context():
        db.session.expire_all()
    return ran


class Dispatcher:
    """The scheduler's poller: every few seconds, claim queued jobs while one of its
    `workers` threads is free, and run each on a thread of its own — so that a second
    user's job starts while a first user's big one is still running."""

    def __init__(self, app: Flask, workers: int = 2):
        from concurrent.futures import ThreadPoolExecutor
        from threading import BoundedSemaphore

        self.app = app
        self.runner = services.this_process()
        self._free = BoundedSemaphore(max(1, workers))
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="qiangji-job")

    def poll(self) -> int:
        """Start what is queued, as far as free workers go; returns how many started."""
        started = 0
        while self._free.acquire(blocking=False):
            try:
                with self.app.app_context():
                    try:
                        job_id = services.claim_next(self.runner, now=utcnow())
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 — the database is away for a moment: next poll
                self._free.release()
                log.exception("could not claim background jobs")
                return started
            if job_id is None:
                self._free.release()
                return started
            future = self._pool.submit(run_job, self.app, job_id)
            future.add_done_callback(lambda _f: self._free.release())
            started += 1
        return started

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
