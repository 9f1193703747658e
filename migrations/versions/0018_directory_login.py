"""directory login: where an account's password is checked (issue 15)

Revision ID: 0018_directory_login
Revises: 0017_task_links
Create Date: 2026-12-06 23:00:00

`auth_source` is "local" (password_hash, as before: every existing account) or "ldap"
(a bind to the court's directory as `directory_dn`, app/auth/directory.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_directory_login'
down_revision = '0017_task_links'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_source', sa.String(length=10), server_default='local', nullable=False))
        batch_op.add_column(sa.Column('directory_dn', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('directory_dn')
        batch_op.drop_column('auth_source')
