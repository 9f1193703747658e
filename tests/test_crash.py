"""kill -9 in the middle of real work, then restart: nothing half-done survives.

1. The scheduler process, which runs a 2,000-row task import as a background job, is
   killed while it commits: afterwards the project holds all 2,000 items (with their
   assignments) or none, the next scheduler start marks the job failed, the batch can
   still be committed, and a finished import survives a kill -9 that follows it.
2. `flask --app wsgi reminders run` is killed in the middle of a sweep over 6,000
   items: what it leaves is never a duplicate, and the run that follows records each
   (rule, item, period) reminder exactly once — nothing missing — in one digest per
   person and rule, and a further run sends nothing.

Landing the kill mid-way: on PostgreSQL the id sequences are not transactional, so the
rows an open transaction has inserted show in `last_value` at once — the kill waits for
a chosen share of the expected rows. On SQLite the writer holds the database's write
lock from its first statement to its commit (BEGIN IMMEDIATE): the test probes that
lock and kills at a chosen share of the measured duration while it is held; once the
page cache spills, the uncommitted rows grow the -wal file, which the test also records.
Each trial records whether the kill landed inside the work; at least one must have."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import create_engine, func, insert, select, text

from app.importing import ImportBatch
from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders.models import SweepMark
from app.tasks.models import Assignment, Task
from tests import factories
from tests.live_server import Browser, LiveServer, app_env, spawn, stop_all

ROWS = 2000
TRIALS = 3
IMPORT_SHARES = (0.2, 0.5, 0.75)  # where in the commit each trial kills
SWEEP_SHARES = (0.2, 0.5, 0.8)
SWEEP_DAY = date(2026, 12, 8)  # a Tuesday


@pytest.fixture(autouse=True)
def _no_process_left():
    """Whatever a trial started dies with the test, pass or fail."""
    yield
    stop_all()


# ---------------------------------------------------------------- watching the work from outside


class Watch:
    """Progress of another process's open transaction, seen from outside it."""

    def __init__(self, database_url: str, backend: str, table: str):
        self.backend, self.table = backend, table
        if backend == "sqlite":
            self.path = database_url.removeprefix("sqlite:///")
            self.engine = None
        else:
            self.engine = create_engine(database_url)

    def sequence(self) -> int:
        """PostgreSQL: ids handed out so far (visible before any commit)."""
        with self.engine.connect() as c:
            return c.execute(text(f"SELECT last_value FROM {self._seq()}")).scalar()

    def _seq(self) -> str:
        with self.engine.connect() as c:
            return c.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": self.table}).scalar()

    def lock_held(self) -> bool:
        """SQLite: somebody holds the write lock (a writer's transaction is open)."""
        con = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return True
            raise
        finally:
            con.close()

    def wal_size(self) -> int:
        try:
            return os.path.getsize(self.path + "-wal")
        except OSError:
            return 0

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _wait_mid_way(watch: Watch, busy, *, share: float, expected_rows: int, duration: float, base: int):
    """Block until the work is `share` done (PostgreSQL: rows inserted; SQLite: time since
    its transaction took the write lock) or has finished. Returns the evidence that the
    kill about to follow lands inside the work, or None."""
    locked_at = None
    while busy():
        if watch.backend == "postgresql":
            done = watch.sequence() - base
            if done >= share * expected_rows:
                return {"rows_in_flight": done} if busy() else None
        elif watch.lock_held():
            locked_at = locked_at or time.monotonic()
            if time.monotonic() - locked_at >= share * duration:
                seconds = round(time.monotonic() - locked_at, 1)
                return {"seconds_in": seconds, "of": round(duration, 1), "wal_grew": watch.wal_size() > base}
        time.sleep(0.05)
    return None


def _work_seconds(watch: Watch, busy) -> float:
    """How long a process's transaction takes, watched from outside (SQLite: the write
    lock held; PostgreSQL: not needed, progress is counted in rows)."""
    first = last = None
    while busy():
        if watch.backend == "sqlite" and watch.lock_held():
            first = first or time.monotonic()
            last = time.monotonic()
        time.sleep(0.05)
    return (last - first) if first else 0.0


# ---------------------------------------------------------------- 1. the import


def _sheet(n: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "任务名称", "责任单位", "完成时限"])
    for i in range(1, n + 1):
        ws.append([i, f"导入事项{i:04d}", "甲一区人民法院", "2026年6月30日"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _imported(db, project_id: int) -> tuple[int, int, int, str]:
    """(items, their assignments, their journal rows, the batch's status) as committed."""
    db.session.expire_all()
    task_ids = select(Task.id).where(Task.project_id == project_id)
    items = db.session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project_id))
    assignments = db.session.scalar(
        select(func.count()).select_from(Assignment).where(Assignment.task_id.in_(task_ids))
    )
    journal = db.session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.object_type == "Task", JournalEntry.object_id.in_(task_ids))
    )
    status = db.session.scalars(select(ImportBatch.status)).one()
    db.session.rollback()
    return items, assignments, journal, status


def _scheduler(database_url: str, tmp_path: Path) -> subprocess.Popen:
    """`flask scheduler`, which runs the import's background jobs (own process group)."""
    log = tmp_path / "scheduler.log"
    with open(log, "ab") as out:
        return spawn(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
            env=app_env(database_url, tmp_path, SWEEP_TIME="23:59"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _kill9(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _job(browser: Browser, job_id: int) -> dict:
    status, body, _ = browser.get(f"/jobs/{job_id}.json")
    assert status == 200, body[:500]
    return json.loads(body)


def _wait_job(browser: Browser, job_id: int, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while not (state := _job(browser, job_id))["finished"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    return state


def _commit_job(browser: Browser, batch_id: int) -> int:
    """POST the commit form: the page queues a job and answers at once with its page."""
    form = browser.hidden(f"/imports/tasks/{batch_id}", f"/imports/tasks/{batch_id}/commit")
    status, body, location = browser.post(f"/imports/tasks/{batch_id}/commit", form)
    assert status == 302 and "/jobs/" in (location or ""), body[:500]
    return int(re.search(r"/jobs/(\d+)", location).group(1))


def test_kill9_of_the_scheduler_during_a_2000_row_import_leaves_all_or_nothing(
    app, db, tree, database_url, backend, tmp_path
):
    """A 2,000-row import is checked and committed by background jobs in the scheduler
    process. Three kill -9s of the scheduler mid-commit: each leaves 0 items, and the next
    scheduler start marks the job failed; the batch can still be committed; then the
    commit runs through (2,000 items, 2,000 assignments) and survives a kill -9 right
    after; committing the batch again is refused."""
    importer = factories.user("importer", tree.inter1, ["assigner"])
    factories.receivers(tree.base1)
    project = factories.project(importer)
    db.session.commit()
    project_id = project.id
    db.session.close()
    watch = Watch(database_url, backend, "tasks")
    server = LiveServer(database_url, tmp_path, workers=2, timeout=60).start()
    browser = Browser(server.url, timeout=60)
    browser.login("importer", factories.PASSWORD)
    scheduler = _scheduler(database_url, tmp_path)

    token = browser.hidden("/imports/tasks", "/imports/tasks")["csrf_token"]
    status, body, location = browser.post(
        "/imports/tasks",
        {"project_id": str(project_id), "csrf_token": token},
        files={"file": ("清单.xlsx", _sheet(ROWS))},
    )
    assert status == 302 and "/jobs/" in (location or ""), body[:1000]  # the request only queued it
    started = time.monotonic()
    checked = _wait_job(browser, int(re.search(r"/jobs/(\d+)", location).group(1)))
    preview_seconds = time.monotonic() - started
    assert checked["state"] == "done", checked
    batch_id = int(re.search(r"/imports/tasks/(\d+)", checked["link_url"]).group(1))

    trials = []
    for share in IMPORT_SHARES[:TRIALS]:
        base = watch.sequence() if backend == "postgresql" else watch.wal_size()
        job_id = _commit_job(browser, batch_id)
        # the commit re-runs what the preview ran: about as long (measured: 0.7–0.8×)
        evidence = _wait_mid_way(
            watch,
            lambda job_id=job_id: not _job(browser, job_id)["finished"],
            share=share,
            expected_rows=ROWS,
            duration=0.7 * preview_seconds,
            base=base,
        )
        _kill9(scheduler)
        items, assignments, journal, status = _imported(db, project_id)
        # Inside the work: seen in progress, and nothing committed (had it finished in the
        # instant between the look and the kill, all 2,000 would be there: not counted).
        landed = evidence is not None and items == 0
        trials.append({"share": share, "mid_way": evidence if landed else None, "items": items})
        assert items in (0, ROWS), trials
        assert assignments == items and journal == items  # no item without its assignment or history
        assert status == ("committed" if items else "preview")
        scheduler = _scheduler(database_url, tmp_path)  # its start marks the cut-off job failed
        if landed:
            state = _wait_job(browser, job_id, timeout=120)
            assert state["state"] == "failed" and "中断" in state["message"], state
        if items:
            break  # too late to kill inside it: it finished (allowed, but no further trial possible)

    assert any(t["mid_way"] for t in trials), f"no kill landed inside the import: {trials}"

    if _imported(db, project_id)[0] == 0:  # the batch is intact: commit it to the end
        assert _wait_job(browser, _commit_job(browser, batch_id))["state"] == "done"
    _kill9(scheduler)  # … and kill right after it finished
    assert _imported(db, project_id) == (ROWS, ROWS, ROWS, "committed")
    again = browser.post(
        f"/imports/tasks/{batch_id}/commit",
        browser.hidden(f"/imports/tasks/{batch_id}", f"/imports/tasks/{batch_id}/commit"),
    )
    assert again[0] == 400 and "已经导入" in again[1]
    server.stop()
    watch.close()
    assert _imported(db, project_id) == (ROWS, ROWS, ROWS, "committed")
    print(f"\n{backend}: import kill -9 trials {trials}; preview {preview_seconds:.1f} s")


# ---------------------------------------------------------------- 2. the reminder sweep


def _many_items(db, tree, n: int) -> None:
    """n dated items of inter1 for base1, due around SWEEP_DAY, written in bulk (set-up,
    not the workflow); base1 has a dozen people to tell."""
    owner = factories.user("sweep_owner", tree.inter1, ["assigner"])
    factories.user("sweep_lead", tree.inter1, ["leader"])
    for i in range(10):
        factories.user(f"sweep_p{i}", tree.base1, ["staff"])
    project = factories.project(owner, end=date(2027, 12, 31))
    db.session.flush()
    now = datetime(2026, 9, 1, 1, 0)
    # deadlines from 20 days overdue to 10 days ahead: overdue, escalation and due-soon bands
    deadlines = [date.fromordinal(SWEEP_DAY.toordinal() - 20 + i % 31) for i in range(n)]
    db.session.execute(
        insert(Task),
        [
            dict(
                kind="task",
                project_id=project.id,
                owner_unit_id=tree.inter1.id,
                title=f"催办事项{i:04d}",
                priority="normal",
                deadline_kind="date",
                deadline=deadlines[i],
                version=1,
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ],
    )
    task_ids = list(
        db.session.scalars(select(Task.id).where(Task.project_id == project.id).order_by(Task.id))
    )
    db.session.execute(
        insert(Assignment),
        [
            dict(
                task_id=tid,
                unit_id=tree.base1.id,
                assigned_by_unit_id=tree.inter1.id,
                period_label="",
                status="pending",
                deadline=deadlines[i],
                original_deadline=deadlines[i],
                progress=0,
                version=1,
                created_at=now,
                updated_at=now,
            )
            for i, tid in enumerate(task_ids)
        ],
    )
    db.session.commit()


def _sweep_cli(database_url: str, tmp_path: Path, *extra: str) -> subprocess.Popen:
    return spawn(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "reminders",
            "run",
            "--date",
            SWEEP_DAY.isoformat(),
            *extra,
        ],
        env=app_env(database_url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sent(output: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", output)}


def _marks(db) -> tuple[int, int, int]:
    """(item reminders recorded, (rule, item, period) recorded more than once, digests
    sent more than once to a person for a rule and day)."""
    db.session.expire_all()
    total = db.session.scalar(select(func.count()).select_from(SweepMark))
    twice = db.session.scalar(
        select(func.count()).select_from(
            select(SweepMark.rule_id)
            .group_by(SweepMark.rule_id, SweepMark.subject_type, SweepMark.subject_id, SweepMark.period)
            .having(func.count() > 1)
            .subquery()
        )
    )
    digests_twice = db.session.scalar(
        select(func.count()).select_from(
            select(Notification.recipient_id)
            .where(Notification.rule_id.is_not(None))
            .group_by(Notification.recipient_id, Notification.rule_id, Notification.day)
            .having(func.count() > 1)
            .subquery()
        )
    )
    db.session.rollback()
    return total, twice, digests_twice


def test_kill9_of_the_reminder_sweep_then_a_rerun_sends_each_reminder_exactly_once(
    app, db, tree, database_url, backend, tmp_path
):
    """Three sweeps killed mid-run leave nothing that sticks; the next run records
    exactly the item reminders a dry run predicted (each (rule, item, period) once, one
    digest per person and rule); another run sends nothing."""
    _many_items(db, tree, 6000)
    db.session.close()
    watch = Watch(database_url, backend, "sweep_marks")
    dry = _sweep_cli(database_url, tmp_path, "--dry-run")
    dry_seconds = _work_seconds(watch, lambda: dry.poll() is None)
    out, err = dry.communicate(timeout=600)
    assert dry.returncode == 0, err
    expected = _sent(out)["items"]
    assert expected > 5000, out  # enough work for a kill to land inside it

    trials = []
    for share in SWEEP_SHARES[:TRIALS]:
        base = watch.sequence() if backend == "postgresql" else watch.wal_size()
        proc = _sweep_cli(database_url, tmp_path)
        evidence = _wait_mid_way(
            watch,
            lambda p=proc: p.poll() is None,
            share=share,
            expected_rows=expected,
            duration=dry_seconds,
            base=base,
        )
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        total, twice, digests_twice = _marks(db)
        # Inside the run: seen in progress and not all of it saved. (The sweep is one
        # transaction, so that is 0; a sweep that saved as it went would be fine too, as
        # long as the next run completes it without sending anything twice.)
        landed = evidence is not None and total < expected
        trials.append({"share": share, "mid_way": evidence if landed else None, "marks": total})
        assert twice == 0 and digests_twice == 0 and total <= expected, trials
        if landed:
            assert proc.returncode == -signal.SIGKILL, trials
    assert any(t["mid_way"] for t in trials), f"no kill landed inside a sweep: {trials}"

    before = _marks(db)[0]  # a trial whose kill came too late finished the sweep
    rerun = _sweep_cli(database_url, tmp_path)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert _sent(out)["items"] == expected - before
    assert _marks(db) == (expected, 0, 0)  # nothing missing, nothing twice
    again = _sweep_cli(database_url, tmp_path)
    out2, err2 = again.communicate(timeout=600)
    assert again.returncode == 0, err2
    assert _sent(out2)["sent"] == 0 and _sent(out2)["items"] == 0
    assert _marks(db) == (expected, 0, 0)
    watch.close()
    print(
        f"\n{backend}: sweep kill -9 trials {trials}; {expected} item reminders; dry run {dry_seconds:.1f} s"
    )
