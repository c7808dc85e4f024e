"""accounts: may the agent hot-desk (log in to the ACD at another free desk's phone)

Revision ID: 31c17517d8ae
Revises: b8e2d4f6a190
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '31c17517d8ae'
down_revision = 'b8e2d4f6a190'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hot_desk', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('hot_desk')
