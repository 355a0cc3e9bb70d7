"""each recipient's WordPress row id, and when its delivery receipt was recorded

WordPress pulls each row's own outcome from GET /campaigns/{key}/messages: `row_id` tells it
which of its rows a message is (Gen C rows carry their `id`), and `delivery_recorded_at`,
disparo's clock when a receipt was written, lets a later pass fetch only the receipts that
arrived since (a partial index holds only the rows that have one).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_HAS_RECEIPT = sa.text("delivery_recorded_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("campaign_messages") as batch:
        batch.add_column(sa.Column("row_id", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("delivery_recorded_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_campaign_messages_delivery_changes",
        "campaign_messages",
        ["campaign_id", "delivery_recorded_at", "id"],
        postgresql_where=_HAS_RECEIPT,
        sqlite_where=_HAS_RECEIPT,
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_messages_delivery_changes", table_name="campaign_messages")
    with op.batch_alter_table("campaign_messages") as batch:
        batch.drop_column("delivery_recorded_at")
        batch.drop_column("row_id")
