"""tally version: one number that goes up with every change the cached roll-ups read
(issue 11)

Revision ID: 0010_tally_version
Revises: 0009_sweep_digest
Create Date: 2026-12-06 10:00:00

The dashboard, completion list, rankings and trends sum the tallies (0008) and count
the open items due from this month on. Their results are kept in the web process under
`tally_version.n` as read at the start of the request; these triggers raise the number
in the same transaction as every insert, delete and relevant update of an item and of
the unit tree, whoever writes, so a kept result is never read after what it was made
from has changed.

SQLite: one row trigger per statement kind (a bulk insert bumps the row once per item,
a few microseconds each). PostgreSQL: statement triggers (once per statement).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_tally_version"
down_revision = "0009_sweep_digest"
branch_labels = None
depends_on = None

ITEM_COLUMNS = "unit_id, task_id, parent_id, status, deadline, closed_on, created_at, progress"
BUMP = "UPDATE tally_version SET n = n + 1 WHERE id = 1"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER tally_version_{name} AFTER {event} ON {table} BEGIN {BUMP}; END"
    for name, event, table in (
        ("item_insert", "INSERT", "assignments"),
        ("item_delete", "DELETE", "assignments"),
        ("item_update", f"UPDATE OF {ITEM_COLUMNS}", "assignments"),
        ("tree_insert", "INSERT", "unit_closure"),
        ("tree_delete", "DELETE", "unit_closure"),
        ("tree_update", "UPDATE", "unit_closure"),
    )
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS tally_version_{name}"
    for name in ("item_insert", "item_delete", "item_update", "tree_insert", "tree_delete", "tree_update")
]

PG_FUNCTION = f"""
CREATE FUNCTION tally_version_bump() RETURNS trigger AS $$
BEGIN
    {BUMP};
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = [
    "CREATE TRIGGER tally_version_items AFTER INSERT OR DELETE OR UPDATE OF "
    f"{ITEM_COLUMNS} ON assignments FOR EACH STATEMENT EXECUTE FUNCTION tally_version_bump()",
    "CREATE TRIGGER tally_version_tree AFTER INSERT OR DELETE OR UPDATE ON unit_closure "
    "FOR EACH STATEMENT EXECUTE FUNCTION tally_version_bump()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS tally_version_items ON assignments",
    "DROP TRIGGER IF EXISTS tally_version_tree ON unit_closure",
    "DROP FUNCTION IF EXISTS tally_version_bump()",
]


def upgrade():
    op.create_table(
        "tally_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tally_version")),
    )
    op.execute("INSERT INTO tally_version (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)


def downgrade():
    for sql in PG_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP:
        op.execute(sql)
    op.drop_table("tally_version")
