"""Writing test data with today's models into a database still at an older revision.

A test of a data migration builds its "before" through the factories, which use the
models of this release. When a later migration has added a column to a table the test
writes (0018: `users.auth_source`), the ORM's INSERT names a column the old table lacks.
`models_fit()` gives the old tables those columns while the test writes and takes them
off again, so that the upgrade meets the old schema exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import inspect, text

from app.extensions import db


@contextmanager
def models_fit() -> Iterator[None]:
    """Add (plain, nullable) the model columns the existing tables lack; drop them at the end."""
    conn = db.session.connection()
    present = inspect(conn)
    added: list[tuple[str, str]] = []
    for table in db.metadata.sorted_tables:
        if not present.has_table(table.name):
            continue
        have = {c["name"] for c in present.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                kind = col.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {kind}'))
                added.append((table.name, col.name))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        conn = db.session.connection()
        for table_name, column in reversed(added):
            conn.execute(text(f'ALTER TABLE "{table_name}" DROP COLUMN "{column}"'))
        db.session.commit()
