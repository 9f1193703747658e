"""Several processes append to the audit log at once (as gunicorn workers do): the
chain stays one unbroken line, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from app.audit import services
from app.audit.models import AuditEntry

PROCESSES = 4
EVENTS = 40


def _append_many(url: str, worker: int, barrier) -> None:
    """One worker: its own app, engine and connections; EVENTS commits of one row."""
    from app import create_app
    from app.audit.services import event
    from app.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        barrier.wait()
        for i in range(EVENTS):
            event("write", username=f"w{worker}", detail={"worker": worker, "i": i})
        db.engine.dispose()


def test_concurrent_appends_keep_one_unbroken_chain(app, db, database_url):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    workers = [ctx.Process(target=_append_many, args=(database_url, n, barrier)) for n in range(PROCESSES)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=180)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == PROCESSES * EVENTS
    result = services.verify()
    assert result.ok, f"broken at {result.broken_at}: {result.reason}"
    assert result.rows == PROCESSES * EVENTS
    # No two rows claim the same predecessor: the appends really were serialised.
    prevs = db.session.scalar(select(func.count(func.distinct(AuditEntry.prev_hash))))
    assert prevs == PROCESSES * EVENTS
