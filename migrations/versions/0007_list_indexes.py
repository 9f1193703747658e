"""list indexes: the assignment list in its default order, its open items, the 销号 queue

Revision ID: 0007_list_indexes
Revises: 0006_security
Create Date: 2026-12-06 03:30:00

Both indexes cover what the list filters and counts on (scope units, status), so page 1
and page 200 of a province's list read an index only (issue 11).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_list_indexes"
down_revision = "0006_security"
branch_labels = None
depends_on = None

COLUMNS = [sa.text("(deadline IS NULL)"), "deadline", "id", "unit_id", "assigned_by_unit_id", "status"]


def upgrade():
    # the 销号 queue of a verifier (我的工作) scanned every submitted item without it
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_verifier_id"), ["verifier_id"], unique=False)
    op.create_index("ix_assignments_list", "assignments", COLUMNS)
    # splits only (see the model)
    op.drop_index("ix_assignments_parent_id", table_name="assignments")
    op.create_index(
        "ix_assignments_parent_id",
        "assignments",
        ["parent_id"],
        sqlite_where=sa.text("parent_id IS NOT NULL"),
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_index(
        "ix_assignments_open",
        "assignments",
        COLUMNS,
        sqlite_where=sa.text("status != 'closed'"),
        postgresql_where=sa.text("status != 'closed'"),
    )


def downgrade():
    op.drop_index("ix_assignments_open", table_name="assignments")
    op.drop_index("ix_assignments_parent_id", table_name="assignments")
    op.create_index("ix_assignments_parent_id", "assignments", ["parent_id"])
    op.drop_index("ix_assignments_list", table_name="assignments")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_verifier_id"))
