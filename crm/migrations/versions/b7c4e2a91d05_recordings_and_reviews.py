"""recordings, QA reviews and legal holds

Revision ID: b7c4e2a91d05
Revises: f3a91c2d7b10
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = 'b7c4e2a91d05'
down_revision = 'f3a91c2d7b10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('spool_path', sa.String(length=500), nullable=False),
    sa.Column('legs', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('disposition', sa.String(length=40), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('channels', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('talk_ratio', sa.Float(), nullable=True),
    sa.Column('silence_ratio', sa.Float(), nullable=True),
    sa.Column('crosstalk_s', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('stored_path', sa.String(length=500), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('retain_until', sa.DateTime(), nullable=True),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('hold_reason', sa.String(length=200), nullable=False),
    sa.Column('held_by', sa.String(length=64), nullable=False),
    sa.Column('qa_score', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('spool_path', name=op.f('uq_recordings_spool_path'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        for column in ('call_id', 'started_at', 'agent', 'queue', 'number', 'customer_id', 'state', 'retain_until'):
            batch_op.create_index(batch_op.f(f'ix_recordings_{column}'), [column], unique=False)
    op.create_table('recording_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('form', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_recording_reviews_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_reviews'))
    )
    with op.batch_alter_table('recording_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_reviews_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_reviews_at'), ['at'], unique=False)


def downgrade() -> None:
    op.drop_table('recording_reviews')
    op.drop_table('recordings')
