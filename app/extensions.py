"""Extension objects, created unbound and initialised by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import click
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints so that migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()


BUSY_TIMEOUT_MS = 30_000


# ---------------------------------------------------------------- migrations, set up at first use
#
# Flask-Migrate imports Alembic (~10 MB of a web worker's memory) and no web request
# needs it: it is set up the first time anything asks for app.extensions["migrate"] —
# `flask db …`, flask_migrate.upgrade() (tests, the benchmark's generator), a restore,
# `flask check` — exactly as Migrate(app, db, …) would have set it up at start.


class _Extensions(dict):
    """app.extensions, which makes its "migrate" entry when it is first read."""

    def __init__(self, app: Flask, directory: str, items: dict[str, Any]) -> None:
        super().__init__(items)
        self._app, self._directory = app, directory

    def __missing__(self, key: str) -> Any:
        if key != "migrate":
            raise KeyError(key)
        from flask_migrate import Migrate

        Migrate(self._app, db, directory=self._directory, render_as_batch=True)
        return dict.__getitem__(self, key)


class _MigrateCommands(click.Group):
    """`flask db …`: stands in for Flask-Migrate's own command group in `flask --help`;
    run, it hands over to that group (its options, its callback, its commands)."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="数据库迁移（Flask-Migrate：upgrade、downgrade、current …）。")
        self._app = app

    def _real(self) -> click.Group:
        self._app.extensions["migrate"]  # sets Flask-Migrate up (it registers its group)
        from flask_migrate.cli import db as commands

        return commands

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ):
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)


def init_migrations(app: Flask, directory: str) -> None:
    """What `Migrate(app, db, directory=…, render_as_batch=True)` does, deferred to first use."""
    app.extensions = _Extensions(app, directory, app.extensions)
    app.cli.add_command(_MigrateCommands(app))


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    """Make SQLite fit for several writers: WAL, a busy timeout, our own BEGIN."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy (the "begin" hook below) issue BEGIN instead of pysqlite.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # Wait for the write lock as long as a request may take (gunicorn's worker timeout,
    # 30 s): with 5 s, 20 writers on 4 workers of a busy 2-core machine got a user-facing
    # "database is locked" on 1 run in 4 (tests/test_concurrency.py); a queue is not an error.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# ---------------------------------------------------------------- reads never take the write lock
#
# SQLite has one writer. A transaction that starts with BEGIN IMMEDIATE holds the write
# lock until it ends, so when every transaction did that, a 14 s import preview froze
# every reader and gave some a "database is locked". Now only a transaction that is
# meant to write takes it: requests other than GET/HEAD/OPTIONS, the few GET views that
# write (marked with `writes_on_get`), the bookkeeping written after a request
# (`begin_writes`), and everything outside a request (CLI, scheduler) unless it says
# `reading()`. A read runs under a plain deferred BEGIN on a WAL snapshot and never
# waits for, nor blocks, a writer. (A deferred transaction that later writes fails under
# concurrency — measured: 716 of 800 — so writes must declare themselves; with
# STRICT_READS on (tests) an undeclared write in a read transaction is an error.)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_intent: ContextVar[bool | None] = ContextVar("qj_write_intent", default=None)


class UndeclaredWrite(RuntimeError):
    """A write inside a read (deferred) transaction: mark the view `writes_on_get`."""


def writes_on_get(view: Callable) -> Callable:
    """Mark a GET view that writes (it takes the write lock from its first statement)."""
    view.qj_writes = True  # type: ignore[attr-defined]
    return view


def write_intended() -> bool:
    """Whether the transaction about to begin will write."""
    intent = _intent.get()
    if intent is not None:
        return intent
    if has_request_context():
        if g.get("qj_write"):
            return True
        if request.method not in SAFE_METHODS:
            return True
        if request.endpoint is None:  # no view (a test's request context): assume it writes
            return True
        view = current_app.view_functions.get(request.endpoint)
        return bool(getattr(view, "qj_writes", False))
    return True


def begin_writes() -> None:
    """From the next transaction on, this request writes (call after a rollback/commit)."""
    if has_request_context():
        g.qj_write = True


@contextmanager
def reading() -> Iterator[None]:
    """Long reads outside a request (an export job): deferred BEGIN, no write lock."""
    token = _intent.set(False)
    try:
        yield
    finally:
        _intent.reset(token)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """BEGIN IMMEDIATE for a transaction that will write (it waits for the lock instead of
    failing later), a plain BEGIN for one that only reads."""
    if conn.dialect.name != "sqlite":
        return
    if write_intended():
        conn.info["qj_read_only"] = False
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.info["qj_read_only"] = True
        conn.exec_driver_sql("BEGIN")


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_undeclared_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if not conn.info.get("qj_read_only") or conn.dialect.name != "sqlite":
        return
    if statement.lstrip()[:7].upper().startswith(_WRITE_VERBS):
        if has_app_context() and current_app.config.get("STRICT_READS"):
            raise UndeclaredWrite(
                f"写操作出现在只读事务中（{request.method if has_request_context() else '-'} "
                f"{request.endpoint if has_request_context() else '-'}）：{statement[:80]}"
            )
        # Production: let SQLite try to upgrade the transaction; it usually can.
        conn.info["qj_read_only"] = False
