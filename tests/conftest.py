"""Test fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL.

Every test that uses `app` runs once per backend. SQLite always runs; PostgreSQL
runs when TEST_POSTGRES_URL points at a server (CI sets it) and is skipped with a
one-line reason otherwise — unless REQUIRE_POSTGRES=1, when its absence fails.
"""

from __future__ import annotations

import contextvars
import os
import shutil
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db as _db
from tests import factories

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "")


def _require(var: str) -> bool:
    return os.environ.get(var, "") == "1"


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="append",
        default=None,
        help="database backends to run (sqlite, postgresql); default both",
    )


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = metafunc.config.getoption("backend") or ["sqlite", "postgresql"]
        metafunc.parametrize("backend", backends, scope="session")


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        _db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    _migrate(f"sqlite:///{path}")
    return path


def _pg_url() -> str:
    url = PG_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url and worker:  # parallel workers: one database each (created on first use)
        from sqlalchemy.engine import make_url

        target = make_url(url)
        url = target.set(database=f"{target.database}_{worker}").render_as_string(hide_password=False)
    return url


@pytest.fixture(scope="session")
def pg_database() -> str:
    """The PostgreSQL test database, emptied and migrated once per session."""
    url = _pg_url()
    if not url:
        reason = "PostgreSQL 不可用：未设置 TEST_POSTGRES_URL"
        if _require("REQUIRE_POSTGRES"):
            pytest.fail(reason + "（REQUIRE_POSTGRES=1）")
        pytest.skip(reason)
    try:
        _create_database_if_missing(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        reason = f"PostgreSQL 不可用：{type(exc).__name__}"
        if _require("REQUIRE_POSTGRES"):
            pytest.fail(reason + f"（REQUIRE_POSTGRES=1）: {exc}")
        pytest.skip(reason)
    _migrate(url)
    _snapshot_reference_rows(url)
    return url


# Rows the migrations themselves insert (categories, visit kinds …): restored after
# each test's TRUNCATE so PostgreSQL tests start from the same state as SQLite ones.
_REFERENCE_ROWS: dict[str, list[dict]] = {}


def _snapshot_reference_rows(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        for table in _db.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in conn.execute(table.select())]
            if rows:
                _REFERENCE_ROWS[table.name] = rows
    engine.dispose()


def _create_database_if_missing(url: str) -> None:
    """Lets each developer (or worker) use a database of its own by name."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def _truncate_all(app) -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for table in _db.metadata.sorted_tables:
            rows = _REFERENCE_ROWS.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                    )
                )


@pytest.fixture
def database_url(request, backend, tmp_path) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_database")


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: a fresh `g`
    (Flask-Login caches the user there) and its own database session. The test's
    pending work is committed first, so no transaction blocks the request."""

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response


@pytest.fixture
def app(database_url, backend, tmp_path):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "uploads"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        if backend == "postgresql":
            _truncate_all(app)
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tree(db):
    """A small court tree (see factories.build_tree)."""
    return factories.build_tree()


@pytest.fixture
def login(client):
    def _login(user, password: str = factories.PASSWORD):
        resp = client.post("/login", data={"username": user.username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return _login


@pytest.fixture
def as_user(app):
    """A fresh client logged in as the given user (one client per person)."""

    def _as(user):
        c = app.test_client()
        resp = c.post("/login", data={"username": user.username, "password": factories.PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        return c

    return _as


@pytest.fixture
def count_queries(app):
    """Context manager counting the SQL statements the app sends (all sessions)."""
    import contextlib

    from sqlalchemy import event

    @contextlib.contextmanager
    def _count():
        statements: list[str] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "PRAGMA")):
                statements.append(statement)

        event.listen(_db.engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(_db.engine, "before_cursor_execute", before)

    return _count
