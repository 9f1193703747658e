"""assigning index (issue 11): the assigning side's index also holds the receiving unit

Revision ID: 0020_assigning_index
Revises: 0019_calendar
Create Date: 2026-12-07 03:00:00

Every page asks which units outside the user's subtree hold items assigned from
inside it (app/authz.py, `_scope_sets_query`). With (assigned_by_unit_id, status)
SQLite read each of those items' rows for its unit_id: 5 ms a request for an
intermediate court of a province (6,544 items), and when the statement was written
as `IN (subquery)` with DISTINCT it scanned all 170,000 items (10 ms). With the
unit in the index the lookup reads the index alone: 1 ms. The index keeps its
name and still serves (assigned_by_unit_id, status).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_assigning_index'
down_revision = '0019_calendar'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_by_unit_status')
        batch_op.create_index(
            'ix_assignments_by_unit_status', ['assigned_by_unit_id', 'status', 'unit_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_by_unit_status')
        batch_op.create_index('ix_assignments_by_unit_status', ['assigned_by_unit_id', 'status'], unique=False)
