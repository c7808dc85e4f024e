"""call facts and report summaries

Revision ID: c4e8a1f2d305
Revises: b7c4e2a91d05
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa



revision = 'c4e8a1f2d305'
down_revision = 'b7c4e2a91d05'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('agent_intervals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_intervals'))
    )
    with op.batch_alter_table('agent_intervals', schema=None) as batch_op:
        batch_op.create_index('ix_agent_intervals_day_agent', ['day', 'agent'], unique=False)

    op.create_table('contact_day_counts',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('disposition', sa.String(length=40), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'queue', 'channel', 'purpose', 'agent', 'campaign_id', 'disposition', name=op.f('pk_contact_day_counts'))
    )
    op.create_table('ivr_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('caller', sa.String(length=32), nullable=False),
    sa.Column('dialed', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('nodes', sa.JSON(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('exit_node', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('self_service', sa.Boolean(), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_sessions'))
    )
    with op.batch_alter_table('ivr_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ivr_sessions_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ivr_sessions_day'), ['day'], unique=False)

    op.create_table('offer_holdbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('cause', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_holdbacks'))
    )
    with op.batch_alter_table('offer_holdbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_holdbacks_day'), ['day'], unique=False)

    op.create_table('queue_legs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('caller', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('skill', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('wait_s', sa.Float(), nullable=False),
    sa.Column('ring_s', sa.Float(), nullable=False),
    sa.Column('talk_s', sa.Float(), nullable=False),
    sa.Column('hold_s', sa.Float(), nullable=False),
    sa.Column('wrap_s', sa.Float(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('original_position', sa.Integer(), nullable=False),
    sa.Column('within_sl', sa.Boolean(), nullable=False),
    sa.Column('transferred', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_legs'))
    )
    with op.batch_alter_table('queue_legs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_legs_agent'), ['agent'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_legs_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_queue_legs_day_queue', ['day', 'queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_legs_entered_at'), ['entered_at'], unique=False)

    op.create_table('queue_slot_stats',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('offered', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('abandoned', sa.Integer(), nullable=False),
    sa.Column('other', sa.Integer(), nullable=False),
    sa.Column('answered_within_sl', sa.Integer(), nullable=False),
    sa.Column('wait_answered_s', sa.Float(), nullable=False),
    sa.Column('wait_abandoned_s', sa.Float(), nullable=False),
    sa.Column('talk_s', sa.Float(), nullable=False),
    sa.Column('hold_s', sa.Float(), nullable=False),
    sa.Column('wrap_s', sa.Float(), nullable=False),
    sa.Column('max_wait_s', sa.Float(), nullable=False),
    sa.Column('transferred', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'slot', 'queue', name=op.f('pk_queue_slot_stats'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue', sa.String(length=64), nullable=False, server_default=''))




def downgrade() -> None:

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('queue')

    op.drop_table('queue_slot_stats')
    with op.batch_alter_table('queue_legs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_legs_entered_at'))
        batch_op.drop_index('ix_queue_legs_day_queue')
        batch_op.drop_index(batch_op.f('ix_queue_legs_call_id'))
        batch_op.drop_index(batch_op.f('ix_queue_legs_agent'))

    op.drop_table('queue_legs')
    with op.batch_alter_table('offer_holdbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offer_holdbacks_day'))

    op.drop_table('offer_holdbacks')
    with op.batch_alter_table('ivr_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ivr_sessions_day'))
        batch_op.drop_index(batch_op.f('ix_ivr_sessions_call_id'))

    op.drop_table('ivr_sessions')
    op.drop_table('contact_day_counts')
    with op.batch_alter_table('agent_intervals', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_intervals_day_agent')

    op.drop_table('agent_intervals')

