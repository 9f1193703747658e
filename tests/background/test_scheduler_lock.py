"""One scheduler per installation: the lock row in the database. Two app instances on
one database (as two hosts would be), then real `flask scheduler` processes: the second
refuses to start (exit code 1, in Chinese); after a kill -9 of the first, a new one takes
over, marks the job the dead one was running as failed, and nothing of it was applied."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app import create_app
from app.background import lock, services
from app.background.models import BackgroundJob, SchedulerLock
from app.extensions import db as _db
from app.extensions import reading
from app.tasks import importer
from app.tasks.models import Task
from app.timeutil import utcnow
from tests import factories
from tests.live_server import app_env, spawn, stop_all

STARTED = "强基通定时任务已启动"


def test_two_instances_on_one_database_share_one_lock(app, db, database_url, tmp_path):
    """Instance A holds the lock; B is refused while A's heartbeat is fresh, takes over
    once it is older than 2 minutes; A then learns it lost the lock."""
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "up"))
    now = utcnow()
    assert lock.acquire("hostA:101", now=now) is None
    assert lock.heartbeat("hostA:101", now=now + timedelta(seconds=20))
    with other.app_context():
        with pytest.raises(lock.LockRefused) as refused:
            lock.acquire("hostB:202", now=now + timedelta(seconds=30))
        assert "另一个定时任务进程（qiangji-scheduler）正在运行：hostA:101" in refused.value.message
        assert "10 秒前" in refused.value.message
        assert lock.scheduler_alive(now=now + timedelta(seconds=30))
        note = lock.acquire("hostB:202", now=now + timedelta(minutes=3))
        assert note and "hostA:101" in note
        _db.session.remove()
        _db.engine.dispose()
    db.session.expire_all()
    assert not lock.heartbeat("hostA:101", now=now + timedelta(minutes=3, seconds=5))
    assert db.session.get(SchedulerLock, lock.LOCK_NAME).holder == "hostB:202"
    lock.release("hostA:101")  # not the holder: changes nothing
    assert lock.status(now=now + timedelta(minutes=3)).holder == "hostB:202"
    lock.release("hostB:202")
    assert lock.status(now=now) is None and not lock.scheduler_alive(now=now)


def test_a_holder_whose_process_is_gone_from_this_host_is_replaced_at_once(app, db):
    """A crash then a restart on the same host: no 2-minute wait."""
    import socket

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    holder = f"{socket.gethostname()}:{int(gone.stdout)}"
    now = utcnow()
    lock.acquire(holder, now=now)
    note = lock.acquire("newhost:1", now=now + timedelta(seconds=5))
    assert note and "已接管定时任务锁" in note and holder in note
    db.session.expire_all()
    assert db.session.get(SchedulerLock, lock.LOCK_NAME).holder == "newhost:1"


# ---------------------------------------------------------------- real processes


def _sheet(n: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "任务名称", "责任单位", "完成时限"])
    for i in range(1, n + 1):
        ws.append([i, f"调度事项{i:04d}", "甲一区人民法院", "2026年6月30日"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class Scheduler:
    """`flask --app wsgi scheduler` on the test database, its output in a file."""

    def __init__(self, database_url: str, tmp, name: str):
        self.log = tmp / f"scheduler-{name}.log"
        env = app_env(database_url, tmp, SWEEP_TIME="23:59", PYTHONUNBUFFERED="1")
        with open(self.log, "wb") as out:
            self.proc = spawn(
                [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while what not in self.text():
            assert self.proc.poll() is None, self.text()[-3000:]
            assert time.monotonic() < deadline, self.text()[-3000:]
            time.sleep(0.05)

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def _state(db, job_id: int) -> str:
    """Read without taking SQLite's write lock (which the job holds while it commits)."""
    db.session.expire_all()
    with reading():
        state = db.session.scalar(select(BackgroundJob.state).where(BackgroundJob.id == job_id))
        db.session.rollback()
    return state


def _items(db, project_id: int) -> int:
    with reading():
        n = db.session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project_id))
        db.session.rollback()
    return n


def test_second_scheduler_refuses_and_a_crash_is_recovered(app, db, tree, database_url, tmp_path):
    """Scheduler 1 runs; scheduler 2 exits 1 saying who holds the lock. Scheduler 1 is
    killed -9 in the middle of a commit job: nothing of it is applied; scheduler 3 takes
    over at once, marks the job failed in Chinese; committing again works; SIGTERM gives
    the lock back."""
    owner = factories.user("sched_owner", tree.inter1, ["assigner"])
    factories.receivers(tree.base1)
    project = factories.project(owner)
    db.session.commit()
    rows = 4000
    batch = importer.preview(owner, project, "s.xlsx", _sheet(rows), now=utcnow())
    db.session.commit()
    try:
        first = Scheduler(database_url, tmp_path, "1")
        first.wait_for(STARTED)
        second = Scheduler(database_url, tmp_path, "2")
        assert second.proc.wait(timeout=60) == 1, second.text()
        assert "另一个定时任务进程（qiangji-scheduler）正在运行" in second.text()
        assert f":{first.proc.pid}" in second.text()

        job = services.enqueue(owner, "tasks.import_commit", {"batch_id": batch.id}, now=utcnow(), total=rows)
        db.session.commit()
        job_id = job.id
        deadline = time.monotonic() + 30
        while _state(db, job_id) != "running":
            assert time.monotonic() < deadline, first.text()[-3000:]
            time.sleep(0.02)
        time.sleep(0.5)  # well inside a commit of 4,000 rows (about 2 s)
        assert _state(db, job_id) == "running", first.text()[-2000:]
        first.kill9()
        assert _items(db, project.id) == 0

        third = Scheduler(database_url, tmp_path, "3")
        third.wait_for(STARTED)
        assert "已接管定时任务锁" in third.text() and "1 个后台任务已标记为失败" in third.text()
        failed = db.session.get(BackgroundJob, job_id)
        db.session.refresh(failed)
        assert failed.state == "failed" and failed.message == services.INTERRUPTED
        assert _items(db, project.id) == 0

        again = services.enqueue(
            owner, "tasks.import_commit", {"batch_id": batch.id}, now=utcnow(), total=rows
        )
        db.session.commit()
        deadline = time.monotonic() + 120
        while _state(db, again.id) in ("queued", "running"):
            assert time.monotonic() < deadline, third.text()[-3000:]
            time.sleep(0.1)
        assert _state(db, again.id) == "done", third.text()[-3000:]
        assert _items(db, project.id) == rows

        third.proc.send_signal(signal.SIGTERM)
        assert third.proc.wait(timeout=30) == 0, third.text()[-2000:]
        assert lock.status(now=utcnow()) is None  # given back: the next start need not wait
    finally:
        stop_all()
