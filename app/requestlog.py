"""One JSON line per request on stderr (the journal, under systemd), and a request id.

Each request gets an id: the reverse proxy's X-Request-ID when it sent a sane one
(nginx: `proxy_set_header X-Request-ID $request_id;`), else a new one; it goes back in
the X-Request-ID response header, so a line in nginx's log, the browser and ours meet.

The line holds the time, request id, user id, method, endpoint and route *pattern*
(`/wall/<token>`, never the path a token sits in), status, duration and size — never a
query string, a form, a header or a cookie. A path is written only for a request that
matched no route (a 404), cut to 200 characters.

A small formatter rather than python-json-logger: a dozen fixed fields and json.dumps
do it, and the offline bundle carries one dependency fewer.

On in ProductionConfig (REQUEST_LOG=0 turns it off), off in development and tests.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime

from flask import Flask, Response, g, request

from app.timeutil import TZ

LOGGER = "qiangji.request"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_MARK = "_qiangji_json"  # on our handler: added once however many apps are created


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, then the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "time": datetime.fromtimestamp(record.created, TZ).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test may have swapped it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def request_id() -> str:
    """This request's id (taken from the proxy or made here)."""
    found = g.get("request_id")
    if found is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        found = given if _SANE_ID.match(given) else uuid.uuid4().hex
        g.request_id = found
    return found


def _user_id() -> int | None:
    """The user this request loaded, if any: never loads one just for the log."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    uid = getattr(user, "id", None)
    return uid if isinstance(uid, int) else None


def fields(response: Response, started: float) -> dict:
    rule = request.url_rule
    line = {
        "request_id": request_id(),
        "user_id": _user_id(),
        "method": request.method,
        "endpoint": request.endpoint,
        "route": rule.rule if rule is not None else None,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "bytes": response.content_length,
        "remote_addr": request.remote_addr,
    }
    if rule is None:
        line["path"] = request.path[:200]
    return line


def register(app: Flask) -> None:
    enabled = bool(app.config.get("REQUEST_LOG"))
    logger = logging.getLogger(LOGGER)
    if enabled and not any(getattr(h, _MARK, False) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # one line, not again through the root logger

    def start() -> None:
        g.request_started = time.perf_counter()
        request_id()

    def finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id()
        if enabled:
            started = g.get("request_started", time.perf_counter())
            logger.info("request", extra={"fields": fields(response, started)})
        return response

    # First before_request (always runs, even when a later hook answers) and last
    # after_request (sees the final status and body size, after compression).
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)
