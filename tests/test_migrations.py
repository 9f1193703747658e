"""The schema comes from migrations only: upgrading an empty database must yield
exactly the models (autogenerate finds nothing to add)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import BUSY_TIMEOUT_MS, db


def test_migrations_match_models(app):
    """`flask db upgrade` on an empty database → no difference from the models."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_sqlite_is_set_up_for_several_writers(app, backend):
    """WAL and a busy timeout on every SQLite connection."""
    if backend != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
