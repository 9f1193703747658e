"""unit tallies: each unit's all-time figures per kind, kept from the tallies (issue 11)

Revision ID: 0021_unit_tallies
Revises: 0020_assigning_index
Create Date: 2026-12-07 13:30:00

The dashboard's every-month figures summed the tallies of a whole province at each
request after a change (57,000 rows: 15–18 ms on SQLite, 27 ms on PostgreSQL). This
table holds those sums per unit and kind — items, closed, closed on time, open with
no deadline — kept by triggers on `assignment_tallies` in the same transaction as
every change to them (which triggers on `assignments` make, migration 0008_tallies),
so it is as exact as the tallies. Filled from the tallies already there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_unit_tallies"
down_revision = "0020_assigning_index"
branch_labels = None
depends_on = None

TABLE = "assignment_unit_tallies"
COLUMNS = "n, closed, on_time, open_no_deadline"


def _figure_parts(r: str) -> tuple[str, ...]:
    """Row `r` of assignment_tallies (NEW or OLD, or a table alias) as this table's
    figures, in COLUMNS' order."""
    return (
        f"{r}.n",
        f"CASE WHEN {r}.closed_month > 0 THEN {r}.n ELSE 0 END",
        f"{r}.on_time",
        f"CASE WHEN {r}.closed_month = 0 AND {r}.due_month = 0 THEN {r}.n ELSE 0 END",
    )


def _figures(r: str) -> str:
    return ", ".join(_figure_parts(r))


# ---------------------------------------------------------------- SQLite


def _apply_sqlite(r: str, sign: str) -> str:
    """Add (sign '+') or take away (sign '-') tally row `r`: two statements."""
    return f"""
    INSERT OR IGNORE INTO {TABLE} (unit_id, kind, {COLUMNS}) VALUES ({r}.unit_id, {r}.kind, 0, 0, 0, 0);
    UPDATE {TABLE} SET {_changes(r, sign)} WHERE unit_id = {r}.unit_id AND kind = {r}.kind;
"""


def _changes(r: str, sign: str) -> str:
    return ", ".join(
        f"{column} = {column} {sign} ({part})"
        for column, part in zip(COLUMNS.split(", "), _figure_parts(r), strict=True)
    )


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER unit_tally_insert AFTER INSERT ON assignment_tallies BEGIN {_apply_sqlite('NEW', '+')} END",
    f"CREATE TRIGGER unit_tally_delete AFTER DELETE ON assignment_tallies BEGIN {_apply_sqlite('OLD', '-')} END",
    "CREATE TRIGGER unit_tally_update AFTER UPDATE ON assignment_tallies BEGIN "
    f"{_apply_sqlite('OLD', '-')} {_apply_sqlite('NEW', '+')} END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS unit_tally_insert",
    "DROP TRIGGER IF EXISTS unit_tally_delete",
    "DROP TRIGGER IF EXISTS unit_tally_update",
]

# ---------------------------------------------------------------- PostgreSQL

PG_FUNCTIONS = [
    f"""
CREATE FUNCTION unit_tally_apply(r assignment_tallies, sign integer) RETURNS void AS $$
BEGIN
    INSERT INTO {TABLE} AS u (unit_id, kind, {COLUMNS})
        SELECT r.unit_id, r.kind, sign * f.a, sign * f.b, sign * f.c, sign * f.d
        FROM (SELECT {_figures("r")}) AS f (a, b, c, d)
    ON CONFLICT (unit_id, kind) DO UPDATE SET
        n = u.n + EXCLUDED.n,
        closed = u.closed + EXCLUDED.closed,
        on_time = u.on_time + EXCLUDED.on_time,
        open_no_deadline = u.open_no_deadline + EXCLUDED.open_no_deadline;
END
$$ LANGUAGE plpgsql
""",
    """
CREATE FUNCTION unit_tally_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM unit_tally_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM unit_tally_apply(NEW, 1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER unit_tally AFTER INSERT OR DELETE OR UPDATE "
    "ON assignment_tallies FOR EACH ROW EXECUTE FUNCTION unit_tally_trigger()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS unit_tally ON assignment_tallies",
    "DROP FUNCTION IF EXISTS unit_tally_trigger()",
    "DROP FUNCTION IF EXISTS unit_tally_apply(assignment_tallies, integer)",
]

_NAMED = ", ".join(
    f"{part} AS {column}" for column, part in zip(COLUMNS.split(", "), _figure_parts("t"), strict=True)
)
FILL = f"""
INSERT INTO {TABLE} (unit_id, kind, {COLUMNS})
SELECT unit_id, kind, {", ".join(f"sum({c})" for c in COLUMNS.split(", "))}
FROM (SELECT t.unit_id, t.kind, {_NAMED} FROM assignment_tallies t) AS f
GROUP BY unit_id, kind
"""


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("open_no_deadline", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "kind", name=op.f("pk_assignment_unit_tallies")),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_FUNCTIONS:
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)
    op.execute(FILL)


def downgrade():
    for sql in PG_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP:
        op.execute(sql)
    op.drop_table(TABLE)
