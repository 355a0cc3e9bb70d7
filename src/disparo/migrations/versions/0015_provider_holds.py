"""provider accounts an operator holds

A held account's sends wait until an operator resumes it. Redis carries the hold to every
worker; this table keeps it when Redis loses its data (the reconciler restores it).

Revision ID: 0015
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_holds",
        sa.Column("account", sa.String(length=161), nullable=False),
        sa.Column("held_by", sa.String(length=64), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account"),
    )


def downgrade() -> None:
    op.drop_table("provider_holds")
