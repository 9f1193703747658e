"""Two sweeps at once, in two processes, against the test database: the unique
(rule, item, period) of sweep_marks and INSERT … ON CONFLICT DO NOTHING mean no reminder
is sent twice, and together they send exactly what one sweep alone would."""

from __future__ import annotations

import multiprocessing as mp
from datetime import date, datetime

from sqlalchemy import func, select

from app.extensions import db as _db
from app.notifications import Notification
from app.reminders.models import SweepMark, SweepRun
from tests.reminders.test_sweep import (
    TUESDAY,
    listed,
    make_item,
    make_world,
    submitted_item,
    sweep,
    sweep_notes,
)

WORKERS = 2


def _worker(url: str, as_of: date, barrier, out) -> None:
    from app import create_app
    from app.reminders.sweep import run_sweep

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        try:
            barrier.wait(timeout=60)
            result = run_sweep(as_of, datetime(2026, 12, 8, 1, 0), trigger="scheduler")
            _db.session.commit()
            out.put((dict(result.counts), None))
        except Exception as exc:  # noqa: BLE001 — reported to the parent
            _db.session.rollback()
            out.put((None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
        finally:
            _db.session.remove()
            _db.engine.dispose()


def test_two_sweeps_at_once_send_nothing_twice(app, db, tree, database_url):
    w = make_world(tree)
    for deadline in (
        date(2026, 12, 7),
        date(2026, 11, 20),
        date(2026, 12, 15),
        date(2026, 12, 9),
        date(2026, 12, 11),
    ):
        make_item(w, deadline)
        make_item(w, deadline, w.t.base2)
    submitted_item(w, date(2026, 12, 31), datetime(2026, 12, 1, 2, 0))
    expected = sweep(TUESDAY, dry_run=True).counts  # what one sweep alone sends
    assert expected["sent"] > 10
    db.session.commit()
    db.session.close()

    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=_worker, args=(database_url, TUESDAY, barrier, out)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [e for _, e in results if e]
    assert errors == [], errors
    counts = [c for c, _ in results]

    db.session.expire_all()
    dupes = db.session.execute(
        select(Notification.recipient_id, Notification.dedupe_key, func.count())
        .group_by(Notification.recipient_id, Notification.dedupe_key)
        .having(func.count() > 1)
    ).all()
    assert dupes == []
    assert len(sweep_notes()) == expected["sent"]
    assert sum(c["sent"] for c in counts) == expected["sent"]
    assert sum(c["duplicates_skipped"] for c in counts) == expected["sent"]
    # each reminder claimed once, and named to each of its recipients once
    assert sum(c["items"] for c in counts) == expected["items"] == count_marks(db) > 10
    named = [(n.recipient_id, n.rule_id, item) for n in sweep_notes() for item in listed(n)]
    assert len(named) == len(set(named))
    assert db.session.scalar(select(func.count()).select_from(SweepRun)) == WORKERS
    # and a third, later run of the same day finds everything done
    third = sweep(TUESDAY)
    assert third.counts["sent"] == 0 and third.counts["duplicates_skipped"] == expected["sent"]
    assert third.counts["items"] == 0 and count_marks(db) == expected["items"]


def count_marks(db) -> int:
    return db.session.scalar(select(func.count()).select_from(SweepMark))
