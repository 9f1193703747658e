"""Per-request SQL statement count and time, for the benchmark (`SQL_PROFILE_HEADERS`).

When the setting is on, every response carries `X-SQL-Count` (statements the request
ran; transaction control — BEGIN, COMMIT, ROLLBACK, SAVEPOINT — is not counted) and
`X-SQL-Time-Ms` (time spent inside the driver: executing, and on SQLite also fetching
the rows, which its driver does step by step after `execute` returns), so
`python -m bench run` can report both beside the page time without a debug toolbar.
Off in production: the headers would tell an outsider how a page is built."""

from __future__ import annotations

import sqlite3
import time

from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _add_time(seconds: float) -> None:
    if has_request_context():
        g.qj_sql_seconds = g.get("qj_sql_seconds", 0.0) + seconds


class _TimedCursor(sqlite3.Cursor):
    """SQLite computes a result row by row as it is fetched: time the fetching too."""

    def fetchone(self):
        t0 = time.perf_counter()
        try:
            return super().fetchone()
        finally:
            _add_time(time.perf_counter() - t0)

    def fetchmany(self, *args):
        t0 = time.perf_counter()
        try:
            return super().fetchmany(*args)
        finally:
            _add_time(time.perf_counter() - t0)

    def fetchall(self):
        t0 = time.perf_counter()
        try:
            return super().fetchall()
        finally:
            _add_time(time.perf_counter() - t0)


class _TimedConnection(sqlite3.Connection):
    def cursor(self, factory=_TimedCursor):  # type: ignore[override]
        return super().cursor(factory)


def _before(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context():
        conn.info.setdefault("qj_t0", []).append(time.perf_counter())


def _after(conn, cursor, statement, parameters, context, executemany) -> None:
    if not has_request_context():
        return
    stack = conn.info.get("qj_t0")
    if not stack:
        return
    _add_time(time.perf_counter() - stack.pop())
    if not statement.lstrip()[:9].upper().startswith(CONTROL):
        g.qj_sql_count = g.get("qj_sql_count", 0) + 1


def configure(app: Flask) -> None:
    """On SQLite, connections whose cursors time their fetching (before the engine is
    made)."""
    if app.config.get("SQL_PROFILE_HEADERS") and app.config.get("SQLALCHEMY_DATABASE_URI", "").startswith(
        "sqlite"
    ):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # not the config class's dict
        options["connect_args"] = dict(options.get("connect_args", {}), factory=_TimedConnection)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register(app: Flask) -> None:
    if not app.config.get("SQL_PROFILE_HEADERS"):
        return
    if not getattr(Engine, "_qj_profiled", False):
        event.listen(Engine, "before_cursor_execute", _before)
        event.listen(Engine, "after_cursor_execute", _after)
        Engine._qj_profiled = True  # type: ignore[attr-defined]

    @app.after_request
    def sql_headers(response):
        response.headers["X-SQL-Count"] = str(g.get("qj_sql_count", 0))
        response.headers["X-SQL-Time-Ms"] = f"{g.get('qj_sql_seconds', 0.0) * 1000:.2f}"
        return response
