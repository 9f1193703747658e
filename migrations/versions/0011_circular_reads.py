"""circular addressees and read receipts: an issued 月末通报 reaches the courts it names
(issue 12)

Revision ID: 0011_circular_reads
Revises: 0010_tally_version
Create Date: 2026-12-07 09:00:00

`circular_addressees`: the courts a circular names (ranked in it, or holding an item of
its red list); each of them and the units above them may read it once issued.
`circular_reads`: the people of those courts it went to, and when each first opened it.

Circulars issued before this migration get their addressees from their frozen figures
and a receipt (unread) for the people of those courts, so that the courts can open
them; nobody is notified of them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_circular_reads"
down_revision = "0010_tally_version"
branch_labels = None
depends_on = None

RECEIVER_ROLES = ("tribunal_head", "coordinator", "staff", "assigner", "leader")


def _backfill() -> None:
    bind = op.get_bind()
    circulars = sa.table(
        "circulars", sa.column("id", sa.Integer), sa.column("status", sa.String), sa.column("data", sa.JSON)
    )
    assignments = sa.table("assignments", sa.column("id", sa.Integer), sa.column("unit_id", sa.Integer))
    units = sa.table("units", sa.column("id", sa.Integer))
    addressees = sa.table(
        "circular_addressees", sa.column("circular_id", sa.Integer), sa.column("unit_id", sa.Integer)
    )
    rows = []
    for circular_id, data in bind.execute(
        sa.select(circulars.c.id, circulars.c.data).where(circulars.c.status == "issued")
    ).all():
        data = data or {}
        named = {r.get("unit_id") for level in (data.get("ranking") or {}).values() for r in level or [] if r}
        items = [r.get("assignment_id") for r in data.get("red_list") or [] if r.get("assignment_id")]
        if items:
            named |= set(
                bind.execute(sa.select(assignments.c.unit_id).where(assignments.c.id.in_(items))).scalars()
            )
        named.discard(None)
        if named:
            existing = set(bind.execute(sa.select(units.c.id).where(units.c.id.in_(named))).scalars())
            rows += [{"circular_id": circular_id, "unit_id": uid} for uid in sorted(existing)]
    if rows:
        op.bulk_insert(addressees, rows)
        op.execute(
            sa.text(
                "INSERT INTO circular_reads (circular_id, user_id, unit_id) "
                "SELECT DISTINCT a.circular_id, u.id, u.unit_id FROM circular_addressees a "
                "JOIN users u ON u.unit_id = a.unit_id "
                "JOIN user_roles r ON r.user_id = u.id AND r.role IN :roles "
                "WHERE u.active = :yes"
            ).bindparams(sa.bindparam("roles", list(RECEIVER_ROLES), expanding=True), yes=True)
        )


def upgrade():
    op.create_table(
        "circular_addressees",
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["circular_id"], ["circulars.id"], name=op.f("fk_circular_addressees_circular_id_circulars")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_circular_addressees_unit_id_units")),
        sa.PrimaryKeyConstraint("circular_id", "unit_id", name=op.f("pk_circular_addressees")),
    )
    with op.batch_alter_table("circular_addressees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circular_addressees_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "circular_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circular_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["circular_id"], ["circulars.id"], name=op.f("fk_circular_reads_circular_id_circulars")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_circular_reads_user_id_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_circular_reads_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_circular_reads")),
        sa.UniqueConstraint("circular_id", "user_id", name=op.f("uq_circular_reads_circular_id")),
    )
    with op.batch_alter_table("circular_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_circular_reads_circular_id"), ["circular_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_circular_reads_user_id"), ["user_id"], unique=False)

    _backfill()


def downgrade():
    with op.batch_alter_table("circular_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circular_reads_user_id"))
        batch_op.drop_index(batch_op.f("ix_circular_reads_circular_id"))
    op.drop_table("circular_reads")
    with op.batch_alter_table("circular_addressees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circular_addressees_unit_id"))
    op.drop_table("circular_addressees")
