"""assignment pairs: how many items each unit assigned to each unit, kept by triggers (issue 11)

Revision ID: 0022_assignment_pairs
Revises: 0021_unit_tallies
Create Date: 2026-12-07 16:10:00

Every request that lists items asks which units outside the user's subtree hold items
assigned from inside it (app.authz, `_scope_sets_statement`: nearly always none). It
read each item the subtree ever assigned through the assigning index — for an
intermediate court ~10,000 index entries, 0.9 ms a request on SQLite and PostgreSQL
alike. This table holds one row per (assigning unit, receiving unit) with its number
of items — a few hundred rows a province — kept by triggers on `assignments` in the
same transaction as every insert, delete and change of either unit, so it is exact.
The question is asked of these rows and the unit tree as it is now (a unit moved
since changes no row here). Filled from the items already there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_assignment_pairs"
down_revision = "0021_unit_tallies"
branch_labels = None
depends_on = None

TABLE = "assignment_pairs"


# ---------------------------------------------------------------- SQLite


def _apply_sqlite(r: str, sign: str) -> str:
    """Count item `r` (NEW or OLD) in (sign '+') or out (sign '-'): two statements."""
    return f"""
    INSERT OR IGNORE INTO {TABLE} (assigned_by_unit_id, unit_id, n) VALUES ({r}.assigned_by_unit_id, {r}.unit_id, 0);
    UPDATE {TABLE} SET n = n {sign} 1 WHERE assigned_by_unit_id = {r}.assigned_by_unit_id AND unit_id = {r}.unit_id;
"""


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER assignment_pair_insert AFTER INSERT ON assignments BEGIN {_apply_sqlite('NEW', '+')} END",
    f"CREATE TRIGGER assignment_pair_delete AFTER DELETE ON assignments BEGIN {_apply_sqlite('OLD', '-')} END",
    "CREATE TRIGGER assignment_pair_update AFTER UPDATE OF unit_id, assigned_by_unit_id ON assignments "
    "WHEN OLD.unit_id IS NOT NEW.unit_id OR OLD.assigned_by_unit_id IS NOT NEW.assigned_by_unit_id BEGIN "
    f"{_apply_sqlite('OLD', '-')} {_apply_sqlite('NEW', '+')} END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS assignment_pair_insert",
    "DROP TRIGGER IF EXISTS assignment_pair_delete",
    "DROP TRIGGER IF EXISTS assignment_pair_update",
]

# ---------------------------------------------------------------- PostgreSQL

PG_FUNCTIONS = [
    f"""
CREATE FUNCTION assignment_pair_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.unit_id IS NOT DISTINCT FROM NEW.unit_id
            AND OLD.assigned_by_unit_id IS NOT DISTINCT FROM NEW.assigned_by_unit_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE {TABLE} SET n = n - 1
            WHERE assigned_by_unit_id = OLD.assigned_by_unit_id AND unit_id = OLD.unit_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {TABLE} AS p (assigned_by_unit_id, unit_id, n)
            VALUES (NEW.assigned_by_unit_id, NEW.unit_id, 1)
        ON CONFLICT (assigned_by_unit_id, unit_id) DO UPDATE SET n = p.n + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER assignment_pair AFTER INSERT OR DELETE OR UPDATE OF unit_id, assigned_by_unit_id "
    "ON assignments FOR EACH ROW EXECUTE FUNCTION assignment_pair_trigger()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS assignment_pair ON assignments",
    "DROP FUNCTION IF EXISTS assignment_pair_trigger()",
]

FILL = f"""
INSERT INTO {TABLE} (assigned_by_unit_id, unit_id, n)
SELECT assigned_by_unit_id, unit_id, count(*) FROM assignments GROUP BY assigned_by_unit_id, unit_id
"""


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("assigned_by_unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("assigned_by_unit_id", "unit_id", name=op.f("pk_assignment_pairs")),
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
