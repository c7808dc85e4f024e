"""offer presentations indexed by time, for the standard reports

Revision ID: e5c7a9d1b203
Revises: d9b3f6a2c417
Create Date: 2026-11-23
"""

from alembic import op


revision = 'e5c7a9d1b203'
down_revision = 'd9b3f6a2c417'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_offer_presentations_presented_at', 'offer_presentations', ['presented_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_offer_presentations_presented_at', table_name='offer_presentations')
