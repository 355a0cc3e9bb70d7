"""reliability: campaign pause, batch redrive base and dead-letter time, attempt history

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "provider_batches",
        sa.Column("uncounted_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "provider_batches",
        sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f("ix_provider_batches_dead_lettered_at"), "provider_batches", ["dead_lettered_at"]
    )
    op.create_table(
        "batch_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("batch_id", BIG_ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["provider_batches.id"],
            name=op.f("fk_batch_attempts_batch_id_provider_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_attempts")),
    )
    op.create_index(op.f("ix_batch_attempts_batch_id"), "batch_attempts", ["batch_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_batch_attempts_batch_id"), table_name="batch_attempts")
    op.drop_table("batch_attempts")
    op.drop_index(op.f("ix_provider_batches_dead_lettered_at"), table_name="provider_batches")
    with op.batch_alter_table("provider_batches") as batch:
        batch.drop_column("dead_lettered_at")
        batch.drop_column("uncounted_attempts")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("paused_at")
