"""The schema comes from migrations only: upgrading an empty database must yield
exactly the models (autogenerate finds nothing to add)."""

import re
import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, bindparam, text
from sqlalchemy.schema import CreateIndex

from app.extensions import BUSY_TIMEOUT_MS, db
from app.search.models import is_fts_object


def test_migrations_match_models(app):
    """`flask db upgrade` on an empty database → no difference from the models."""
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect an index on an expression, so alembic skips those:
        # test_expression_indexes_match_models checks them instead.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        # the search index's FTS5 tables are made by DDL, not by the models (issue 15)
        skip_fts = lambda obj, name, type_, *_: not (type_ == "table" and is_fts_object(name))  # noqa: E731
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": skip_fts})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def _normal(sql: str) -> str:
    return re.sub(r"[\s\"]+", "", sql).lower()


def test_expression_indexes_match_models(app, backend):
    """The indexes on expressions (which alembic cannot compare): same name, same
    columns and expressions, same condition, in the migrated database as in the models."""
    expected = {
        ix.name: ix
        for table in db.metadata.tables.values()
        for ix in table.indexes
        if any(not isinstance(e, Column) for e in ix.expressions)
    }
    assert {"ix_assignments_list", "ix_assignments_open"} <= set(expected)
    with db.engine.connect() as conn:
        if backend == "sqlite":
            found = dict(
                conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN :names"
                    ).bindparams(bindparam("names", expanding=True)),
                    {"names": list(expected)},
                ).all()
            )
        else:
            found = dict(
                conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN :names").bindparams(
                        bindparam("names", expanding=True)
                    ),
                    {"names": list(expected)},
                ).all()
            )
    assert set(found) == set(expected)
    for name, ix in expected.items():
        ddl = _normal(str(CreateIndex(ix).compile(dialect=db.engine.dialect)))
        got = _normal(found[name])
        if backend == "postgresql":  # pg_indexes spells it its own way: compare the parts
            for part in ("deadlineisnull", "unit_id", "assigned_by_unit_id", "status"):
                assert part in got, (name, got)
            assert ("where" in got) == ("where" in ddl), (name, got)
        else:
            assert got == ddl, (name, got, ddl)


def test_sqlite_is_set_up_for_several_writers(app, backend):
    """WAL and a busy timeout on every SQLite connection."""
    if backend != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_tally_triggers_are_there_at_head(app, backend):
    """The roll-up tallies, their version and each unit's sums are kept by triggers
    (migrations 0008_tallies, 0010_tally_version, 0021_unit_tallies), as are the
    assigning pairs the policy reads (0022_assignment_pairs). On SQLite a
    later migration that alters `assignments` or `tasks` in batch mode rebuilds the table
    and drops its triggers silently: it must create them again, or this fails."""
    with db.engine.connect() as conn:
        if backend == "sqlite":
            found = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            expected = {
                "tally_assignment_insert",
                "tally_assignment_delete",
                "tally_assignment_update",
                "tally_task_kind",
                *(f"tally_version_{name}" for name in ("item_insert", "item_delete", "item_update")),
                *(f"tally_version_{name}" for name in ("tree_insert", "tree_delete", "tree_update")),
                *(f"unit_tally_{name}" for name in ("insert", "delete", "update")),
                *(f"assignment_pair_{name}" for name in ("insert", "delete", "update")),
            }
        else:
            found = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            expected = {
                "tally_assignment",
                "tally_task_kind",
                "tally_version_items",
                "tally_version_tree",
                "unit_tally",
                "assignment_pair",
            }
    assert expected <= found, found
