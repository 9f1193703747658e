"""Several writers at once (gunicorn workers): no 'database is locked', no lost update.

Four processes each add 1 to a counter kept on one unit, 25 times, through the
real service with its version check. Whatever the interleaving, the counter must
end at 100 and no process may die on a lock error."""

import multiprocessing as mp

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.org.models import Unit

WORKERS = 4
ROUNDS = 25


def _worker(url: str, unit_id: int, rounds: int, out) -> None:
    from app import create_app
    from app.errors import Conflict
    from app.org import services
    from app.timeutil import utcnow

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    done = conflicts = 0
    errors: list[str] = []
    with app.app_context():
        while done < rounds and len(errors) < 5:
            unit = db.session.get(Unit, unit_id)
            count = int(unit.feature_label or 0)
            try:
                services.update_unit(
                    None,
                    unit,
                    name=unit.name,
                    tribunal_kind=unit.tribunal_kind,
                    feature_label=str(count + 1),
                    aliases=unit.aliases,
                    expected_version=unit.version,
                    now=utcnow(),
                )
                db.session.commit()
                done += 1
            except (Conflict, StaleDataError):
                db.session.rollback()
                conflicts += 1
            except OperationalError as exc:
                db.session.rollback()
                errors.append(str(exc).splitlines()[0])
        db.engine.dispose()
    out.put((done, conflicts, errors))


def test_concurrent_read_modify_write_loses_nothing(app, db, tree, database_url):
    """4 processes × 25 increments through the service → exactly 100."""
    unit_id = tree.base1.id
    db.session.commit()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(database_url, unit_id, ROUNDS, out)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [e for _, _, errs in results for e in errs]
    assert errors == [], errors
    assert sum(done for done, _, _ in results) == WORKERS * ROUNDS
    db.session.expire_all()
    assert db.session.get(Unit, unit_id).feature_label == str(WORKERS * ROUNDS)


# ---------------------------------------------------------------- real server, real pages

WRITERS = 20  # 10 edit one item (事项), 10 report on one assignment (进度反馈)
PAGE_ROUNDS = 5


def _http_world(db, tree):
    """An item of inter1 assigned to base1; ten of inter1's assigners edit the item, ten of
    base1's people report on the assignment."""
    from datetime import date

    from tests import factories

    owner = factories.user("w_owner", tree.inter1, ["assigner"])
    editors = [factories.user(f"w_edit{i}", tree.inter1, ["assigner"]) for i in range(WRITERS // 2)]
    reporters = [factories.user(f"w_rep{i}", tree.base1, ["staff"]) for i in range(WRITERS // 2)]
    project = factories.project(owner)
    task = factories.task(owner, project, deadline=date(2026, 6, 30))
    (assignment,) = factories.assign(owner, task, tree.base1)
    db.session.commit()
    return task.id, assignment.id, editors, reporters


def _writer(base_url, username, kind, task_id, a_id, index, barrier, out) -> None:
    """Log in; then, PAGE_ROUNDS times: open the form (its version), edit, save. Every
    answer is recorded as (kind, phase, value, status, says-locked, start of a 5xx body)."""
    from tests import factories
    from tests.live_server import Browser
    from tests.pages import Forms

    b = Browser(base_url)
    b.login(username, factories.PASSWORD)
    barrier.wait(timeout=120)
    for r in range(PAGE_ROUNDS):
        if kind == "edit":
            page = action = f"/tasks/{task_id}/edit"
            value = f"标题-{index}-{r}"
            typed = {
                "title": value,
                "priority": "normal",
                "deadline_kind": "date",
                "deadline": "2026-06-30",
                "category_id": "0",
                "recurrence": "",
                "report_every": "",
            }
        else:
            page, action = f"/assignments/{a_id}", f"/assignments/{a_id}/report"
            value = f"反馈-{index}-{r}"
            typed = {"text": value, "percent": str(index % 10 * 10 + r)}
        status, html, _ = b.get(page)
        out.append(
            (kind, "read", value, status, "database is locked" in html, html[:300] if status >= 500 else "")
        )
        if status != 200:
            continue
        parser = Forms(page)
        parser.feed(html)
        status, body, _ = b.post(action, {**parser.forms[action], **typed})
        out.append(
            (kind, "save", value, status, "database is locked" in body, body[:300] if status >= 500 else "")
        )


@pytest.fixture
def _no_process_left():
    """The server dies with the test, pass or fail."""
    from tests.live_server import stop_all

    yield
    stop_all()


@pytest.mark.usefixtures("_no_process_left")
def test_twenty_writers_on_gunicorn_lose_nothing(app, db, tree, database_url, backend, tmp_path):
    """gunicorn, 4 workers; 20 logged-in people each read the version, edit and save, 5
    times, on the same item and the same assignment: no 'database is locked', no 5xx;
    every save is accepted (302) or refused (409); every accepted save is in the journal
    and the data, none of the refused ones is, and the final state is the last accepted save."""
    import threading
    import time

    from sqlalchemy import select

    from app.journal import JournalEntry
    from app.tasks.models import Assignment, ProgressReport, Task
    from tests.live_server import LiveServer

    task_id, a_id, editors, reporters = _http_world(db, tree)
    people = [(u.username, "edit") for u in editors] + [(u.username, "report") for u in reporters]
    db.session.close()
    results: list[tuple] = []
    started = time.monotonic()
    with LiveServer(database_url, tmp_path, workers=4) as server:
        barrier = threading.Barrier(len(people))
        threads = [
            threading.Thread(
                target=_writer, args=(server.url, name, kind, task_id, a_id, i, barrier, results), daemon=True
            )
            for i, (name, kind) in enumerate(people)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "a writer hung"
    elapsed = time.monotonic() - started
    log = server.log.read_text(errors="replace")
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]

    locked = [r for r in results if r[4]]
    server_errors = [r for r in results if r[3] >= 500]
    unexpected = [r for r in results if r[3] not in ((200,) if r[1] == "read" else (302, 409))]
    assert (locked, server_errors, unexpected) == ([], [], [])
    saves = [(kind, value, status) for kind, phase, value, status, *_ in results if phase == "save"]
    assert len(saves) == WRITERS * PAGE_ROUNDS
    db.session.expire_all()

    # The item: each accepted title journaled once, no refused one; the saved title is the last.
    accepted = sorted(v for k, v, s in saves if k == "edit" and s == 302)
    refused = {v for k, v, s in saves if k == "edit" and s == 409}
    journal = list(
        db.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.object_type == "Task", JournalEntry.object_id == task_id)
            .where(JournalEntry.action == "task.update")
            .order_by(JournalEntry.id)
        )
    )
    titles = [e.after["title"] for e in journal]
    assert sorted(titles) == accepted and not refused & set(titles)
    assert db.session.get(Task, task_id).title == titles[-1]

    # The assignment: each accepted report saved once; the progress is the last one's percent.
    accepted_r = sorted(v for k, v, s in saves if k == "report" and s == 302)
    reports = list(
        db.session.scalars(
            select(ProgressReport).where(ProgressReport.assignment_id == a_id).order_by(ProgressReport.id)
        )
    )
    assert sorted(r.text for r in reports) == accepted_r
    report_journal = list(
        db.session.scalars(select(JournalEntry).where(JournalEntry.action == "report.create"))
    )
    assert sorted(e.after["text"] for e in report_journal) == accepted_r
    assert db.session.get(Assignment, a_id).progress_override == reports[-1].percent

    summary = (
        f"{backend}: {WRITERS} writers × {PAGE_ROUNDS} saves = {len(saves)} saves "
        f"({len(results)} requests) in {elapsed:.1f} s; item {len(accepted)} accepted / {len(refused)} "
        f"refused (409); assignment {len(accepted_r)} accepted / "
        f"{sum(1 for k, _, s in saves if k == 'report' and s == 409)} refused; 0 locked, 0 5xx, 0 lost"
    )
    print(summary)
    assert accepted and accepted_r  # somebody got through on each
