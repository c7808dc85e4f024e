"""saved custom reports

Revision ID: d9b3f6a2c417
Revises: c4e8a1f2d305
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = 'd9b3f6a2c417'
down_revision = 'c4e8a1f2d305'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saved_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('shared_roles', sa.JSON(), nullable=False),
    sa.Column('schedule', sa.String(length=10), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('last_sent_period', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reports')),
    sa.UniqueConstraint('owner', 'name', name=op.f('uq_saved_reports_owner'))
    )
    with op.batch_alter_table('saved_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_reports_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('saved_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_reports_owner'))

    op.drop_table('saved_reports')
