"""Reads never take SQLite's write lock (issue 11): a GET runs under a plain deferred
BEGIN and is served while another connection holds the write lock; a POST and a GET
view that writes take it at BEGIN; an undeclared write inside a read fails loudly."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import event

from tests import factories


@pytest.fixture
def begins(db):
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    yield seen
    event.remove(db.engine, "before_cursor_execute", before)


def _setup(db, tree, login, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only: PostgreSQL reads never block writers")
    u = factories.task_users(tree)
    p = factories.project(u.reviewer)
    factories.assign(u.reviewer, factories.task(u.reviewer, p), tree.inter1)
    db.session.commit()
    login(u.reviewer)
    return u


def test_get_begins_deferred_and_post_immediate(client, db, tree, login, backend, begins):
    _setup(db, tree, login, backend)
    begins.clear()
    assert client.get("/assignments").status_code == 200
    assert begins and set(begins) == {"BEGIN"}, begins
    begins.clear()
    assert client.post("/notifications/read-all").status_code in (302, 303)
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}, begins


def test_a_reader_is_served_while_another_connection_holds_the_write_lock(
    client, db, tree, login, backend, app
):
    _setup(db, tree, login, backend)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE units SET sort_order = sort_order WHERE 1 = 0")
        started = time.monotonic()
        resp = client.get("/assignments")
        waited = time.monotonic() - started
        assert resp.status_code == 200
        # Before: the GET's BEGIN IMMEDIATE queued behind the lock for the whole busy
        # timeout (30 s) and then failed with "database is locked".
        assert waited < 10, waited
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_write_inside_a_read_transaction_is_refused_in_tests(app, db, tree, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    from app.extensions import UndeclaredWrite
    from app.org.models import Unit

    db.session.commit()
    ctx = app.test_request_context("/assignments", method="GET")
    ctx.push()
    try:
        ctx.match_request()  # a GET with a view, as a real request has
        db.session.get(Unit, tree.base1.id).feature_label = "x"
        with pytest.raises(UndeclaredWrite):
            db.session.flush()
    finally:
        db.session.rollback()
        ctx.pop()
