"""post-call satisfaction survey: one survey per call, the score on the call's contact

Revision ID: c2f7e9a4b813
Revises: a7d4c2e9f153
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = 'c2f7e9a4b813'
down_revision = 'a7d4c2e9f153'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('way', sa.String(length=8), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_call_surveys_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_surveys')),
    sa.UniqueConstraint('call_id', name=op.f('uq_call_surveys_call_id'))
    )
    op.create_index('ix_call_surveys_number_status', 'call_surveys', ['number', 'status'], unique=False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('satisfaction')
    op.drop_index('ix_call_surveys_number_status', table_name='call_surveys')
    op.drop_table('call_surveys')
