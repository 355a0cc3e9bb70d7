"""channel a message and a batch were sent on (RCS providers and their SMS fallback)

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_batches") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=8), nullable=True))
    with op.batch_alter_table("campaign_messages") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_messages") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("provider_batches") as batch:
        batch.drop_column("channel")
