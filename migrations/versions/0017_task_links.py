"""links between items of a project: 依赖 (depends on) and 相关 (related to) (issue 15)

Revision ID: 0017_task_links
Revises: 0016_comments
Create Date: 2026-12-06 23:00:00

One row per linked pair of items; "related" links are stored once (lower id first).
No item links to itself (a check constraint); a cycle of dependencies is refused by
the service (a recursive query in the same transaction).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_task_links'
down_revision = '0016_comments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('task_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_task_id', sa.Integer(), nullable=False),
    sa.Column('to_task_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('from_task_id <> to_task_id', name=op.f('ck_task_links_not_self')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_task_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['from_task_id'], ['tasks.id'], name=op.f('fk_task_links_from_task_id_tasks')),
    sa.ForeignKeyConstraint(['to_task_id'], ['tasks.id'], name=op.f('fk_task_links_to_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_links')),
    sa.UniqueConstraint('from_task_id', 'to_task_id', name=op.f('uq_task_links_from_task_id'))
    )
    with op.batch_alter_table('task_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_links_to_task_id'), ['to_task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('task_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_links_to_task_id'))

    op.drop_table('task_links')
