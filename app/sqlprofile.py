"""Per-request SQL statement count and time, for the benchmark (`SQL_PROFILE_HEADERS`).

When the setting is on, every response carries `X-SQL-Count` (statements the request
ran) and `X-SQL-Time-Ms` (time spent inside the driver), so `python -m bench run` can
report both beside the page time without a debug toolbar. Off in production: the
headers would tell an outsider how a page is built."""

from __future__ import annotations

import time

from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine


def _before(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context():
        conn.info.setdefault("qj_t0", []).append(time.perf_counter())


def _after(conn, cursor, statement, parameters, context, executemany) -> None:
    if not has_request_context():
        return
    stack = conn.info.get("qj_t0")
    if not stack:
        return
    elapsed = time.perf_counter() - stack.pop()
    g.qj_sql_count = g.get("qj_sql_count", 0) + 1
    g.qj_sql_seconds = g.get("qj_sql_seconds", 0.0) + elapsed


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
