"""callbacks, wrap-ups and marketing thresholds kept across restarts

Revision ID: b8e2d4f6a190
Revises: a3f0c8d21e47
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "b8e2d4f6a190"
down_revision = "a3f0c8d21e47"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_requests",
        sa.Column("callback_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dialed", sa.String(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("callback_id", name=op.f("pk_callback_requests")),
    )
    op.create_table(
        "marketing_policies",
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("group_name", name=op.f("pk_marketing_policies")),
    )
    op.create_table(
        "pending_wrapups",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "call_id", name=op.f("pk_pending_wrapups")),
    )
    with op.batch_alter_table("pending_wrapups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_wrapups_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_wrapups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_wrapups_ended_at"))

    op.drop_table("pending_wrapups")
    op.drop_table("marketing_policies")
    op.drop_table("callback_requests")
