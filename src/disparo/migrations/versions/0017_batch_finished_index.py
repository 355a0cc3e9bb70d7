"""the batches a campaign finished lately

The dashboard's rate over the last minute sums the sends of the batches a campaign finished
in the last 60 s; (campaign_id, finished_at) makes that read those few batches, not every
batch of a 1,000,000-recipient campaign.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_provider_batches_finished", "provider_batches", ["campaign_id", "finished_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_provider_batches_finished", table_name="provider_batches")
