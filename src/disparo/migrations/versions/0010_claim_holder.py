"""who holds a claimed batch, and whether its request may have left

A dead worker's batch is judged as soon as its heartbeat is gone (seconds), not after the
longest a request could take (minutes): the claim records the worker and the attempt it
claimed, and the worker stamps request_at, conditionally, right before the request leaves.
A batch whose request_at is still NULL provably never reached the provider.

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_batches") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("claim_attempt", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("request_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_batches") as batch:
        batch.drop_column("request_at")
        batch.drop_column("claim_attempt")
        batch.drop_column("claimed_by")
