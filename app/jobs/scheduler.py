"""The scheduler process: `flask --app wsgi scheduler` (one process, never the web workers).

APScheduler's job store lives in this process's memory only (a job store cannot be
shared between processes); what must not happen twice is guarded in the database
(unique notification keys, deliveries marked sent, one circular per unit and month).
Each job opens an app context, calls one service with `now`, commits and records a
SweepRun; an exception is logged and recorded and never stops the scheduler."""

from __future__ import annotations

import contextlib
import logging
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
    """Last day of the month: the draft circular of this month for each high court."""
    from app.org.models import Unit
    from app.reminders.circular import make_draft

    period = to_local(now).strftime("%Y-%m")
    made = 0
    for root in db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)):
        make_draft(root, period, now)
        made += 1
    return {"circulars": made, "period": period}, []


def circular_job(app: Flask) -> bool:
    return _run(app, "circular", circular_drafts)


# ---------------------------------------------------------------- the scheduler


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The scheduler with its four jobs (not started)."""
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


def register(app: Flask) -> None:
    @app.cli.command("scheduler")
    def scheduler() -> None:
        """Run the scheduler (sweep, e-mail, weekly, month-end) in this process."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if catch_up(app, utcnow()):
            click.echo("已补跑今日提醒扫描。")
        sched = build_scheduler(app)
        click.echo(
            "强基通定时任务已启动（Asia/Shanghai）："
            + "；".join(f"{j.name} {j.trigger}" for j in sched.get_jobs())
        )
        with contextlib.suppress(KeyboardInterrupt, SystemExit):  # Ctrl-C / SIGTERM: a clean exit
            sched.start()
