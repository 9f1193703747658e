"""The scheduler process: `flask --app wsgi scheduler` (one process, never the web workers).

APScheduler's job store lives in this process's memory only (a job store cannot be
shared between processes); what must not happen twice is guarded in the database
(unique notification keys, deliveries marked sent, one circular per unit and month).
Each job opens an app context, calls one service with `now`, commits and records a
SweepRun; an exception is logged and recorded and never stops the scheduler.

One scheduler per installation, however many hosts serve the web: `flask scheduler`
takes a lock row in the database at start (app.background.lock) and renews it every
20 s; a second one refuses to start (exit code 1) while the first is alive. The same
process runs the users' background jobs (imports, large exports, circulars): a poller
claims queued jobs every 2 s and runs them on worker threads (app.background.runner)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.timeutil import TZ, to_local, utcnow

log = logging.getLogger(__name__)
MISFIRE_GRACE = 3600  # a job late by up to an hour (process busy, clock jump) still runs once
HEAD_ROLES = ("tribunal_head", "coordinator", "assigner")


def sweep_time(app: Flask) -> time:
    hh, mm = app.config.get("SWEEP_TIME", "08:30").split(":")
    return time(int(hh), int(mm))


# ---------------------------------------------------------------- running one job


def _record(
    job: str, as_of: date, started: datetime, counts: dict | None, errors: list[str], ok: bool
) -> None:
    from app.reminders.models import SweepRun

    db.session.add(
        SweepRun(
            job=job,
            as_of=as_of,
            trigger="scheduler",
            started_at=started,
            finished_at=utcnow() if ok else None,
            counts=counts,
            errors=errors,
        )
    )
    db.session.commit()


def _run(
    app: Flask, job: str, fn: Callable[[datetime], tuple[dict, list[str]]], *, always_record=True
) -> bool:
    """Open an app context, call `fn(now)`, commit, record the run. Never raises."""
    with app.app_context():
        now = utcnow()
        as_of = to_local(now).date()
        try:
            counts, errors = fn(now)
            db.session.commit()
            ok = True
        except Exception as exc:  # noqa: BLE001 — a job's failure must not stop the scheduler
            db.session.rollback()
            log.exception("scheduler job %s failed", job)
            counts, errors, ok = None, [f"{type(exc).__name__}: {exc}"[:1000]], False
        try:
            if always_record or not ok or any((counts or {}).values()):
                _record(job, as_of, now, counts, errors, ok)
        except Exception:  # noqa: BLE001
            db.session.rollback()
            log.exception("could not record scheduler run %s", job)
        finally:
            db.session.remove()
        return ok


# ---------------------------------------------------------------- the jobs


def _mail(now: datetime, *, digest: bool) -> tuple[dict, list[str]]:
    from app.reminders.mail import send_pending

    result = send_pending(now, digest=digest)
    return {**result.counts(), **({"skipped_reason": result.reason} if result.reason else {})}, result.errors


def sweep_job(app: Flask, now: datetime | None = None) -> bool:
    """The daily sweep for today (local), then the digest e-mails."""
    from app.reminders.sweep import run_sweep

    def sweep(now_: datetime) -> tuple[dict, list[str]]:
        result = run_sweep(to_local(now or now_).date(), now or now_, trigger="scheduler")
        return result.counts, result.errors

    # run_sweep records its own SweepRun(job="sweep"); only a crash is recorded here.
    with app.app_context():
        try:
            sweep(utcnow())
            db.session.commit()
        except Exception as exc:  # noqa: BLE001
            db.session.rollback()
            log.exception("scheduler sweep failed")
            started = now or utcnow()
            _record(
                "sweep",
                to_local(started).date(),
                started,
                None,
                [f"{type(exc).__name__}: {exc}"[:1000]],
                False,
            )
        finally:
            db.session.remove()
    return _run(app, "digest", lambda n: _mail(n, digest=True))


def mail_job(app: Flask) -> bool:
    """Every 10 minutes: immediate e-mails and retries (recorded only when something happened)."""
    return _run(app, "digest", lambda n: _mail(n, digest=False), always_record=False)


def weekly_summary(now: datetime) -> tuple[dict, list[str]]:
    """Monday: each unit with open items gets, for its heads, one notification with its
    open and overdue counts (once per unit and ISO week), e-mailed to those who take e-mail."""
    from app.notifications import Notification, notify_users
    from app.org.models import Unit, User, UserRole
    from app.reminders.models import Delivery
    from app.reminders.sweep import email_targets
    from app.tasks.models import Assignment

    today = to_local(now).date()
    year, week, _ = today.isocalendar()
    overdue = (Assignment.deadline.is_not(None)) & (Assignment.deadline < today)
    rows = db.session.execute(
        select(Assignment.unit_id, Unit.name, func.count(), func.count().filter(overdue))
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.status != "closed")
        .group_by(Assignment.unit_id, Unit.name)
    ).all()
    heads: dict[int, list[int]] = {}
    for uid, unit_id in db.session.execute(
        select(User.id, User.unit_id)
        .where(User.unit_id.in_([r[0] for r in rows] or [-1]), User.active.is_(True))
        .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(HEAD_ROLES))))
        .order_by(User.id)
    ):
        heads.setdefault(unit_id, []).append(uid)
    added, units, errors = 0, 0, []
    for unit_id, name, n_open, n_overdue in rows:
        people = heads.get(unit_id, [])
        if not people:
            continue
        key = f"weekly:{unit_id}:{year}-W{week:02d}"
        message = f"【每周提示】{name}目前有未办结事项 {n_open} 项，其中逾期 {n_overdue} 项。请登录强基通查看并抓紧办理。"
        added += notify_users(
            people,
            kind="weekly",
            subject_type="Unit",
            subject_id=unit_id,
            message=message,
            dedupe_key=key,
            actor_id=None,
            now=now,
        )
        units += 1
    # E-mail the new ones (those without a delivery yet) to people who take e-mail.
    fresh = db.session.execute(
        select(Notification.id, Notification.recipient_id)
        .outerjoin(Delivery, Delivery.notification_id == Notification.id)
        .where(Notification.kind == "weekly", Notification.created_at == now, Delivery.id.is_(None))
    ).all()
    modes = email_targets({uid for _, uid in fresh})
    for nid, uid in fresh:
        if uid in modes:
            db.session.add(Delivery(notification_id=nid, recipient_id=uid, mode="immediate", created_at=now))
    db.session.flush()
    return {"units": units, "notified": added}, errors


def weekly_job(app: Flask) -> bool:
    return _run(app, "weekly", weekly_summary)


def circular_drafts(now: datetime) -> tuple[dict, list[str]]:
    """Last day of the month: the draft circular of this month for each high court (a
    catch-up run after midnight drafts the month just ended, not the new one)."""
    from app.org.models import Unit
    from app.reminders.circular import default_period, make_draft

    period = default_period(to_local(now).date())
    made = 0
    for root in db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)):
        make_draft(root, period, now)
        made += 1
    return {"circulars": made, "period": period}, []


def circular_job(app: Flask) -> bool:
    return _run(app, "circular", circular_drafts)


def backup_job(app: Flask) -> bool:
    """Nightly: one archive in BACKUP_DIR, the newest BACKUP_KEEP kept (app.backup)."""
    from app.backup.services import nightly

    return _run(app, "backup", nightly)


def backup_time(app: Flask) -> time:
    hh, mm = app.config.get("BACKUP_TIME", "01:30").split(":")
    return time(int(hh), int(mm))


# ---------------------------------------------------------------- the scheduler


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The scheduler with its four jobs, and the nightly backup when BACKUP_DIR is set (not started)."""
    tz = ZoneInfo("Asia/Shanghai")
    at = sweep_time(app)
    defaults = {"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1}
    sched = BlockingScheduler(timezone=tz, job_defaults=defaults)

    def add(fn, trigger, job_id: str, name: str) -> None:
        # Stated on each job as well: a job not yet started shows its own settings.
        sched.add_job(fn, trigger, args=[app], id=job_id, name=name, **defaults)

    add(sweep_job, CronTrigger(hour=at.hour, minute=at.minute, timezone=tz), "sweep", "每日提醒扫描")
    add(mail_job, IntervalTrigger(minutes=10, timezone=tz), "mail", "即时邮件与重试")
    add(weekly_job, CronTrigger(day_of_week="mon", hour=8, minute=0, timezone=tz), "weekly", "每周提示")
    add(circular_job, CronTrigger(day="last", hour=17, minute=0, timezone=tz), "circular", "月末通报稿")
    if app.config.get("BACKUP_DIR"):  # off when BACKUP_DIR is empty
        bt = backup_time(app)
        add(backup_job, CronTrigger(hour=bt.hour, minute=bt.minute, timezone=tz), "backup", "每日数据备份")
    return sched


def catch_up(app: Flask, now: datetime) -> bool:
    """At start: if today's sweep has not finished and it is past SWEEP_TIME, run it
    once for today (missed earlier days are not replayed). True if it ran."""
    from app.reminders.models import SweepRun

    local = to_local(now) if now.tzinfo is None else now.astimezone(TZ)
    today = local.date()
    if local.time() < sweep_time(app):
        return False
    with app.app_context():
        done = db.session.scalar(
            select(func.count())
            .select_from(SweepRun)
            .where(SweepRun.job == "sweep", SweepRun.as_of == today, SweepRun.finished_at.is_not(None))
            .where(SweepRun.dry_run.is_(False))
        )
        db.session.remove()
    if done:
        return False
    utc_now = local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    sweep_job(app, utc_now)
    return True


# ---------------------------------------------------------------- the process's own jobs

JOB_POLL_SECONDS = 1  # a job waits at most this long to start (a 2,000-row check itself takes ~1 s)
CLEANUP_AT = time(2, 30)  # the nightly clean-up of old job results (Asia/Shanghai)


def cleanup_job(app: Flask) -> bool:
    """Nightly: delete job results older than JOB_RESULT_DAYS and uploads nobody needs,
    then refresh the query planner's statistics (SQLite has none unless something runs
    ANALYZE: without them a province's project page took 24 s instead of 0.4 s)."""
    from app.background.services import purge_results
    from app.maintenance import refresh_statistics

    def nightly(now: datetime) -> tuple[dict, list[str]]:
        counts = purge_results(now=now)
        refresh_statistics()
        return counts, []

    return _run(app, "jobs_cleanup", nightly, always_record=False)


def add_process_jobs(sched: BlockingScheduler, app: Flask, holder: str, dispatcher) -> None:
    """What only the lock holder runs: the lock's heartbeat, the background-job poller
    and the nightly clean-up of job results."""
    from app.background import lock

    tz = ZoneInfo("Asia/Shanghai")

    def beat() -> None:
        with app.app_context():
            try:
                held = lock.heartbeat(holder, now=utcnow())
            except Exception:  # noqa: BLE001 — the database is busy or away: try again next time
                db.session.rollback()
                log.exception("scheduler heartbeat failed")
                return
            finally:
                db.session.remove()
        if not held:
            log.error("定时任务锁已被其他进程接管（%s 不再持有），本进程停止。", holder)
            sched.shutdown(wait=False)

    quick = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    sched.add_job(
        beat,
        IntervalTrigger(seconds=lock.HEARTBEAT_SECONDS, timezone=tz),
        id="heartbeat",
        name="定时任务锁心跳",
        **quick,
    )
    sched.add_job(
        dispatcher.poll,
        IntervalTrigger(seconds=JOB_POLL_SECONDS, timezone=tz),
        id="jobs",
        name="后台任务",
        next_run_time=datetime.now(tz),  # at start too: jobs queued while it was down
        **quick,
    )
    sched.add_job(
        cleanup_job,
        CronTrigger(hour=CLEANUP_AT.hour, minute=CLEANUP_AT.minute, timezone=tz),
        args=[app],
        id="jobs_cleanup",
        name="清理过期的后台任务结果",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE,
    )


def take_lock(app: Flask, holder: str) -> None:
    """Take the installation's scheduler lock, or exit 1 with the reason; then mark
    the jobs a previous scheduler left running as failed (they never committed)."""
    from app.background import lock
    from app.background.services import fail_interrupted

    with app.app_context():
        try:
            note = lock.acquire(holder, now=utcnow())
        except lock.LockRefused as exc:
            click.echo(exc.message, err=True)
            sys.exit(1)
        finally:
            db.session.remove()
        if note:
            click.echo(note)
        failed = fail_interrupted(now=utcnow())
        db.session.remove()
    if failed:
        click.echo(f"上次运行中断的 {failed} 个后台任务已标记为失败（未保存任何结果）。")


def _release(app: Flask, holder: str) -> None:
    from app.background import lock

    with app.app_context():
        try:
            lock.release(holder)
        except Exception:  # noqa: BLE001 — the next start takes over after the heartbeat ages
            log.exception("could not release the scheduler lock")
        finally:
            db.session.remove()


class _QuietRoutine(logging.Filter):
    """APScheduler logs every run of every job: for the poller (every 2 s) and the
    heartbeat that is noise in the journal, not news."""

    ROUTINE = frozenset({"jobs", "heartbeat"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (args and getattr(args[0], "id", None) in self.ROUTINE)


def register(app: Flask) -> None:
    @app.cli.command("scheduler")
    def scheduler() -> None:
        """Run the scheduler (sweep, e-mail, weekly, month-end, background jobs) in this process."""
        from app.background.runner import Dispatcher
        from app.background.services import this_process

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for name in ("apscheduler.executors.default", "apscheduler.scheduler"):
            logging.getLogger(name).addFilter(_QuietRoutine())
        holder = this_process()
        take_lock(app, holder)  # exits 1 when another scheduler is running
        # systemd stops us with SIGTERM: unwind (and give the lock back) as for Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        dispatcher = Dispatcher(app, workers=int(app.config.get("BACKGROUND_WORKERS", 2)))
        try:
            if catch_up(app, utcnow()):
                click.echo("已补跑今日提醒扫描。")
            sched = build_scheduler(app)
            add_process_jobs(sched, app, holder, dispatcher)
            click.echo(
                f"强基通定时任务已启动（{holder}，Asia/Shanghai）："
                + "；".join(f"{j.name} {j.trigger}" for j in sched.get_jobs())
            )
            with contextlib.suppress(KeyboardInterrupt, SystemExit):  # Ctrl-C / SIGTERM: a clean exit
                sched.start()
        finally:
            dispatcher.shutdown()
            _release(app, holder)
