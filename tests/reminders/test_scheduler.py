"""The scheduler: its jobs and triggers, catch-up at start, failures recorded."""

from __future__ import annotations

from datetime import datetime

import time_machine
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from app.jobs import scheduler
from app.notifications import Notification
from app.reminders.models import SweepRun
from app.timeutil import TZ, utcnow
from tests import factories


def _runs(db, job: str) -> int:
    db.session.rollback()
    n = db.session.scalar(select(func.count()).select_from(SweepRun).where(SweepRun.job == job))
    db.session.rollback()  # SQLite here begins IMMEDIATE: hold no transaction while a job runs
    return n


def test_build_scheduler_has_four_jobs_in_shanghai_time(app):
    """Daily sweep 08:30, mail every 10 minutes, Monday 08:00, last day of month 17:00."""
    sched = scheduler.build_scheduler(app)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"sweep", "mail", "weekly", "circular"}
    assert str(sched.timezone) == "Asia/Shanghai"
    for job in jobs.values():
        assert str(job.trigger.timezone) == "Asia/Shanghai"
    start = datetime(2026, 11, 22, 12, 0, tzinfo=TZ)  # a Sunday
    assert isinstance(jobs["sweep"].trigger, CronTrigger)
    assert jobs["sweep"].trigger.get_next_fire_time(None, start) == datetime(2026, 11, 23, 8, 30, tzinfo=TZ)
    assert isinstance(jobs["mail"].trigger, IntervalTrigger)
    assert jobs["mail"].trigger.interval.total_seconds() == 600
    assert jobs["weekly"].trigger.get_next_fire_time(None, start) == datetime(2026, 11, 23, 8, 0, tzinfo=TZ)
    assert jobs["circular"].trigger.get_next_fire_time(None, start) == datetime(
        2026, 11, 30, 17, 0, tzinfo=TZ
    )
    assert all(j.coalesce and j.misfire_grace_time for j in jobs.values())


def test_sweep_time_from_config(app):
    app.config["SWEEP_TIME"] = "07:15"
    job = scheduler.build_scheduler(app).get_job("sweep")
    start = datetime(2026, 11, 23, 0, 0, tzinfo=TZ)
    assert job.trigger.get_next_fire_time(None, start) == datetime(2026, 11, 23, 7, 15, tzinfo=TZ)


def test_catch_up_runs_missing_sweep_once(app, db, tree):
    """Started after 08:30 with no sweep today: it runs once; started again: it does not."""
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 23, 9, 5, tzinfo=TZ), tick=False):
        assert scheduler.catch_up(app, utcnow()) is True
        assert _runs(db, "sweep") == 1
        run = db.session.scalar(select(SweepRun).where(SweepRun.job == "sweep"))
        assert run.as_of.isoformat() == "2026-11-23" and run.trigger == "scheduler" and run.finished_at
        db.session.rollback()
        assert _runs(db, "digest") == 1
        assert scheduler.catch_up(app, utcnow()) is False
        assert _runs(db, "sweep") == 1


def test_catch_up_waits_before_sweep_time(app, db, tree):
    """Before 08:30 the cron job will do it: no catch-up."""
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 23, 8, 0, tzinfo=TZ), tick=False):
        assert scheduler.catch_up(app, utcnow()) is False
    assert _runs(db, "sweep") == 0


def test_failing_job_is_recorded_and_does_not_raise(app, db):
    """An exception inside a job is logged and recorded; the scheduler lives on."""

    def boom(now):
        raise RuntimeError("数据库不可用")

    db.session.commit()
    assert scheduler._run(app, "weekly", boom) is False
    db.session.rollback()
    run = db.session.scalar(select(SweepRun).where(SweepRun.job == "weekly"))
    assert run.finished_at is None and "数据库不可用" in run.errors[0]


def test_weekly_job_notifies_unit_heads_once(app, db, tree):
    """Each unit with open items gets one weekly notification per head, once per ISO week."""
    u = factories.task_users(tree)
    p = factories.project(u.high_assigner)
    t = factories.task(u.high_assigner, p)
    factories.assign(u.high_assigner, t, tree.base1)
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 23, 8, 0, tzinfo=TZ), tick=False):
        assert scheduler.weekly_job(app) is True
        assert scheduler.weekly_job(app) is True
    db.session.rollback()
    rows = db.session.scalars(select(Notification).where(Notification.kind == "weekly")).all()
    assert [n.recipient_id for n in rows] == [u.base1_coord.id]
    assert rows[0].dedupe_key == f"weekly:{tree.base1.id}:2026-W48"
    assert "未办结事项 1 项" in rows[0].message
    assert _runs(db, "weekly") == 2
