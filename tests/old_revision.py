"""Writing test data with today's models into a database still at an older revision.

A test of a data migration builds its "before" through the factories, which use the
models of this release. When a later migration has added a column to a table the test
writes (0018: `users.auth_source`), the ORM's INSERT names a column the old table lacks;
when it has added a table the services read while writing (0022: `assignment_pairs`, which
the policy asks), the statement fails. `models_fit()` gives the old database those columns
and tables while the test writes and takes them off again — every table that was not
there before, whatever made it — so that the upgrade meets the old schema exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import inspect, text

from app.extensions import db


@contextmanager
def models_fit() -> Iterator[None]:
    """Add the model tables the database lacks (empty, as the models say) and the model
    columns its tables lack (plain, nullable); take all of them away at the end."""
    conn = db.session.connection()
    present = inspect(conn)
    before = set(present.get_table_names())
    added: list[tuple[str, str]] = []
    for table in db.metadata.sorted_tables:
        if table.name not in before:
            table.create(conn)
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
        made = set(inspect(conn).get_table_names()) - before
        # the models' tables children first, then what their creation made beside them
        # (the search index's FTS5 table)
        order = [t.name for t in reversed(db.metadata.sorted_tables) if t.name in made]
        for table_name in order + sorted(made - set(order)):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table_name}"'))
        db.session.commit()
