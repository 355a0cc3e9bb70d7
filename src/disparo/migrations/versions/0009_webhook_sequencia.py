"""a per-campaign sequence number on every webhook

Existing webhooks are numbered in the order they were written (their id), per campaign, so a
webhook still pending when this runs is sent with its number like every later one.

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequencia", sa.Integer(), nullable=True))
    # Portable (PostgreSQL and SQLite); a campaign has a handful of webhooks.
    op.execute(
        "UPDATE webhook_outbox SET sequencia = (SELECT count(*) FROM webhook_outbox AS earlier"
        " WHERE earlier.campaign_id = webhook_outbox.campaign_id"
        " AND earlier.id <= webhook_outbox.id) WHERE campaign_id IS NOT NULL"
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_outbox_sequencia", ["campaign_id", "sequencia"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_outbox_sequencia")
        batch_op.drop_column("sequencia")
