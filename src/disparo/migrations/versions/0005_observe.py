"""recipient indexes for the dashboard and the messages API

Keyset pages of a 1,000,000-recipient campaign: (campaign_id, id) serves the unfiltered page
and (campaign_id, status, id) a status filter and the errors grouped by reason, so neither
walks other campaigns' rows nor the whole campaign.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:35:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_messages", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_messages_page", ["campaign_id", "id"], unique=False)
        batch_op.create_index(
            "ix_campaign_messages_status", ["campaign_id", "status", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_messages_status")
        batch_op.drop_index("ix_campaign_messages_page")
