"""back office: required questions, dispositions and pause reasons per queue, messages left, callback log, SMS delivery receipts

Revision ID: a7d4c2e9f153
Revises: 7d2e5b9c1a40
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = 'a7d4c2e9f153'
down_revision = '7d2e5b9c1a40'
branch_labels = None
depends_on = None

# The values the desk offered before they could be administered, so nothing changes on upgrade.
SEED = [
    ('disposition', 'resolved', '已解决', 'Resolved', 1),
    ('disposition', 'follow_up', '需跟进', 'Follow-up', 2),
    ('disposition', 'info', '咨询', 'Information', 3),
    ('disposition', 'complaint', '投诉', 'Complaint', 4),
    ('pause', 'break', '休息', 'Break', 1),
    ('pause', 'lunch', '午餐', 'Lunch', 2),
    ('pause', 'training', '培训', 'Training', 3),
    ('pause', 'meeting', '会议', 'Meeting', 4),
]


def upgrade() -> None:
    codes = op.create_table('desk_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_zh', sa.String(length=100), nullable=False),
    sa.Column('label_en', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_codes')),
    sa.UniqueConstraint('kind', 'queue', 'code', name=op.f('uq_desk_codes_kind'))
    )
    op.bulk_insert(codes, [
        {'kind': k, 'queue': '', 'code': c, 'label_zh': zh, 'label_en': en, 'position': p, 'enabled': True}
        for k, c, zh, en, p in SEED
    ])
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required', sa.Boolean(), server_default='0', nullable=False))
    op.create_table('messages_left',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('caller', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('file', sa.String(length=500), nullable=False),
    sa.Column('record_status', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('handled_by', sa.String(length=64), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_messages_left_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages_left')),
    sa.UniqueConstraint('call_id', name=op.f('uq_messages_left_call_id'))
    )
    with op.batch_alter_table('messages_left', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_left_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_left_status'), ['status'], unique=False)
    op.create_table('callback_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('callback_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('step', sa.String(length=12), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_log'))
    )
    with op.batch_alter_table('callback_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_log_callback_id'), ['callback_id'], unique=False)
    op.create_table('sms_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_ref', sa.String(length=100), nullable=False),
    sa.Column('delivery', sa.String(length=12), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_sms_receipts_outbox_id_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_receipts')),
    sa.UniqueConstraint('outbox_id', name=op.f('uq_sms_receipts_outbox_id'))
    )
    with op.batch_alter_table('sms_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_receipts_provider_ref'), ['provider_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sms_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_receipts_provider_ref'))
    op.drop_table('sms_receipts')
    with op.batch_alter_table('callback_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_log_callback_id'))
        batch_op.drop_index(batch_op.f('ix_callback_log_at'))
    op.drop_table('callback_log')
    with op.batch_alter_table('messages_left', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_left_status'))
        batch_op.drop_index(batch_op.f('ix_messages_left_at'))
    op.drop_table('messages_left')
    op.drop_table('desk_codes')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('required')
