"""delivery receipts and replies of the Ótima callbacks

Each recipient gets the provider's latest delivery state (status, time, reason), found by
(campaign_id, phone); replies (mobile-originated messages) get a table of their own.

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("campaign_messages") as batch:
        batch.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("delivery_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivery_reason", sa.String(length=255), nullable=True))
        batch.create_index("ix_campaign_messages_phone", ["campaign_id", "phone"])
    op.create_table(
        "campaign_replies",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column(
            "campaign_id",
            sa.Uuid(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id",
            _BIGINT,
            sa.ForeignKey("campaign_messages.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_campaign_replies_dedupe_key")),
    )
    op.create_index("ix_campaign_replies_campaign", "campaign_replies", ["campaign_id", "id"])
    op.create_index("ix_campaign_replies_message_id", "campaign_replies", ["message_id"])


def downgrade() -> None:
    op.drop_table("campaign_replies")
    with op.batch_alter_table("campaign_messages") as batch:
        batch.drop_index("ix_campaign_messages_phone")
        batch.drop_column("delivery_reason")
        batch.drop_column("delivery_at")
        batch.drop_column("delivery_status")
