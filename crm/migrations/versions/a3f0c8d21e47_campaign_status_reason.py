"""campaigns: why Hotline set a campaign's status (a target rule that failed)

Revision ID: a3f0c8d21e47
Revises: e5c7a9d1b203
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = 'a3f0c8d21e47'
down_revision = 'e5c7a9d1b203'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
