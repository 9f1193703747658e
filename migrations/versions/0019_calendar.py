"""calendar (issue 15): an index for the milestones due in a month

Revision ID: 0019_calendar
Revises: 0018_directory_login
Create Date: 2026-12-06 23:30:00

The calendar counts milestones (assignment_steps of kind "milestone") per day of a
month. Without an index on (kind, due) SQLite started from the assignments of the
user's subtree (170,000 for the high court of a province) and probed each one's steps.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019_calendar'
down_revision = '0018_directory_login'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignment_steps', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_steps_kind_due', ['kind', 'due', 'assignment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('assignment_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_assignment_steps_kind_due')
