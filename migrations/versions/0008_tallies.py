"""assignment tallies: per unit, kind and month, kept by triggers (issue 11)

Revision ID: 0008_tallies
Revises: 0007_background_jobs
Create Date: 2026-12-06 07:00:00

The roll-ups read these rows instead of every item. Triggers on `assignments` keep
them in the same transaction as every write, whoever makes it (services, imports,
the generator, SQL by hand); the table is filled from the items already there. A
task's kind may not change once it has items (it is part of the key).

On SQLite, a later migration that alters `assignments` or `tasks` with batch_alter_table
rebuilds the table and drops these triggers: it must create them again
(tests/test_migrations.py checks they are there at head).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_tallies"
down_revision = "0007_background_jobs"
branch_labels = None
depends_on = None

KEY = "unit_id, kind, due_month, overdue_from, closed_month"


# ---------------------------------------------------------------- SQLite


def _month_sqlite(expr: str) -> str:
    return f"CAST(strftime('%Y%m', {expr}) AS INTEGER)"


def _key_sqlite(r: str) -> str:
    """The key of row `r` (NEW or OLD, or a table alias), in KEY's order."""
    return ", ".join(_key_parts_sqlite(r))


def _key_parts_sqlite(r: str) -> tuple[str, ...]:
    return (
        f"{r}.unit_id",
        f"(SELECT kind FROM tasks WHERE tasks.id = {r}.task_id)",
        f"COALESCE({_month_sqlite(f'{r}.deadline')}, 0)",
        f"CASE WHEN {r}.deadline IS NULL THEN 0 ELSE max("
        f"{_month_sqlite(f'date({r}.deadline, ' + chr(39) + '+1 day' + chr(39) + ')')}, "
        f"{_month_sqlite(f'{r}.created_at, ' + chr(39) + '+8 hours' + chr(39))}) END",
        f"CASE WHEN {r}.status = 'closed' THEN COALESCE({_month_sqlite(f'{r}.closed_on')}, 1) ELSE 0 END",
    )


def _on_time_sqlite(r: str) -> str:
    return (
        f"CASE WHEN {r}.status = 'closed' AND ({r}.deadline IS NULL OR {r}.closed_on <= {r}.deadline) "
        "THEN 1 ELSE 0 END"
    )


def _apply_sqlite(r: str, sign: str) -> str:
    """Add (sign '+') or take away (sign '-') row `r` in the tallies: two statements."""
    return f"""
    INSERT OR IGNORE INTO assignment_tallies ({KEY}, n, on_time)
        SELECT {_key_sqlite(r)}, 0, 0 WHERE {r}.parent_id IS NULL;
    UPDATE assignment_tallies SET n = n {sign} 1, on_time = on_time {sign} {_on_time_sqlite(r)}
        WHERE {r}.parent_id IS NULL AND ({KEY}) = (SELECT {_key_sqlite(r)});
"""


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER tally_assignment_insert AFTER INSERT ON assignments BEGIN {_apply_sqlite('NEW', '+')} END",
    f"CREATE TRIGGER tally_assignment_delete AFTER DELETE ON assignments BEGIN {_apply_sqlite('OLD', '-')} END",
    "CREATE TRIGGER tally_assignment_update AFTER UPDATE OF "
    "unit_id, task_id, parent_id, status, deadline, closed_on, created_at ON assignments BEGIN "
    f"{_apply_sqlite('OLD', '-')} {_apply_sqlite('NEW', '+')} END",
    "CREATE TRIGGER tally_task_kind BEFORE UPDATE OF kind ON tasks "
    "WHEN OLD.kind IS NOT NEW.kind AND EXISTS (SELECT 1 FROM assignments WHERE task_id = OLD.id) BEGIN "
    "SELECT RAISE(ABORT, '已交办的事项不能改变类别'); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tally_assignment_insert",
    "DROP TRIGGER IF EXISTS tally_assignment_delete",
    "DROP TRIGGER IF EXISTS tally_assignment_update",
    "DROP TRIGGER IF EXISTS tally_task_kind",
]
_FILL_COLUMNS = ", ".join(
    f"{expr} AS {name}"
    for expr, name in zip(("a.unit_id", "t.kind", *_key_parts_sqlite("a")[2:]), KEY.split(", "), strict=True)
)
SQLITE_FILL = f"""
INSERT INTO assignment_tallies ({KEY}, n, on_time)
SELECT {KEY}, count(*), sum(on_time) FROM (
    SELECT {_FILL_COLUMNS}, {_on_time_sqlite("a")} AS on_time
    FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE a.parent_id IS NULL
) AS k
GROUP BY {KEY}
"""

# ---------------------------------------------------------------- PostgreSQL


def _month_pg(expr: str) -> str:
    return f"(EXTRACT(YEAR FROM {expr})::int * 100 + EXTRACT(MONTH FROM {expr})::int)"


def _values_pg(r: str) -> str:
    return ", ".join(
        (
            f"{r}.unit_id",
            f"(SELECT kind FROM tasks WHERE tasks.id = {r}.task_id)",
            f"COALESCE({_month_pg(f'{r}.deadline')}, 0)",
            f"CASE WHEN {r}.deadline IS NULL THEN 0 ELSE GREATEST("
            f"{_month_pg(f'({r}.deadline + 1)')}, {_month_pg(f'({r}.created_at + INTERVAL {chr(39)}8 hours{chr(39)})')}) END",
            f"CASE WHEN {r}.status = 'closed' THEN COALESCE({_month_pg(f'{r}.closed_on')}, 1) ELSE 0 END",
            f"CASE WHEN {r}.status = 'closed' AND ({r}.deadline IS NULL OR {r}.closed_on <= {r}.deadline) "
            "THEN 1 ELSE 0 END",
        )
    )


PG_FUNCTIONS = [
    f"""
CREATE FUNCTION assignment_tally_apply(r assignments, sign integer) RETURNS void AS $$
BEGIN
    IF r.parent_id IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO assignment_tallies AS t ({KEY}, n, on_time)
        SELECT k.unit_id, k.kind, k.due_month, k.overdue_from, k.closed_month, sign, sign * k.on_time
        FROM (SELECT {_values_pg("r")}) AS k ({KEY}, on_time)
    ON CONFLICT ({KEY}) DO UPDATE SET n = t.n + EXCLUDED.n, on_time = t.on_time + EXCLUDED.on_time;
END
$$ LANGUAGE plpgsql
""",
    """
CREATE FUNCTION assignment_tally_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM assignment_tally_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM assignment_tally_apply(NEW, 1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    """
CREATE FUNCTION task_kind_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.kind IS DISTINCT FROM NEW.kind AND EXISTS (SELECT 1 FROM assignments WHERE task_id = OLD.id) THEN
        RAISE EXCEPTION '已交办的事项不能改变类别' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER tally_assignment AFTER INSERT OR DELETE OR UPDATE OF "
    "unit_id, task_id, parent_id, status, deadline, closed_on, created_at "
    "ON assignments FOR EACH ROW EXECUTE FUNCTION assignment_tally_trigger()",
    "CREATE TRIGGER tally_task_kind BEFORE UPDATE OF kind ON tasks FOR EACH ROW EXECUTE FUNCTION task_kind_guard()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS tally_task_kind ON tasks",
    "DROP TRIGGER IF EXISTS tally_assignment ON assignments",
    "DROP FUNCTION IF EXISTS task_kind_guard()",
    "DROP FUNCTION IF EXISTS assignment_tally_trigger()",
    "DROP FUNCTION IF EXISTS assignment_tally_apply(assignments, integer)",
]
PG_FILL = f"""
INSERT INTO assignment_tallies ({KEY}, n, on_time)
SELECT {KEY}, count(*), sum(on_time) FROM (
    SELECT {_values_pg("a")} FROM assignments a WHERE a.parent_id IS NULL
) AS k ({KEY}, on_time)
GROUP BY {KEY}
"""


def upgrade():
    op.create_table(
        "assignment_tallies",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_month", sa.Integer(), nullable=False),
        sa.Column("overdue_from", sa.Integer(), nullable=False),
        sa.Column("closed_month", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "unit_id", "kind", "due_month", "overdue_from", "closed_month", name=op.f("pk_assignment_tallies")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_assignments_open_due",
        "assignments",
        ["deadline", "unit_id", "progress", "created_at"],
        sqlite_where=sa.text("status != 'closed' AND parent_id IS NULL"),
        postgresql_where=sa.text("status != 'closed' AND parent_id IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_FUNCTIONS:
            op.execute(sql)
        op.execute(PG_FILL)
    else:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)
        op.execute(SQLITE_FILL)


def downgrade():
    for sql in PG_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP:
        op.execute(sql)
    op.drop_index("ix_assignments_open_due", table_name="assignments")
    op.drop_table("assignment_tallies")
