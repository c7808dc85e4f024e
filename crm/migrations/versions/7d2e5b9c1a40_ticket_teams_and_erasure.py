"""ticket teams, the queue a ticket came on, the in_progress status, erased customers

Revision ID: 7d2e5b9c1a40
Revises: 586a72aef8d8
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '7d2e5b9c1a40'
down_revision = '586a72aef8d8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('leader', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('queue', sa.String(length=64), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_tickets_team'), ['team'], unique=False)
        batch_op.alter_column('status', existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
    with op.batch_alter_table('ticket_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=64), nullable=True))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('ticket_steps', schema=None) as batch_op:
        batch_op.drop_column('team')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.drop_index(batch_op.f('ix_tickets_team'))
        batch_op.drop_column('queue')
        batch_op.drop_column('team')
    op.drop_table('teams')
