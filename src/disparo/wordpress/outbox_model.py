"""The webhook outbox table: status updates for WordPress, written in the same transaction as
the change they report and delivered by wordpress/webhooks.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from disparo.db.base import Base, BigIntId, UTCDateTime, str_enum, utcnow
from disparo.db.masked import MaskedJSON, MaskedText


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookOutbox(Base):
    """Status updates for WordPress, written in the same transaction as the change they report."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        # One number per webhook of a campaign (migration 0009); also serves the max() lookup.
        Index("ix_webhook_outbox_sequencia", "campaign_id", "sequencia", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    agendamento_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(MaskedJSON)
    # The campaign's webhooks numbered 1, 2, 3… in the order they were written, sent as the
    # body's `sequencia` on every attempt and replay, so WordPress can refuse an older one.
    sequencia: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(MaskedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the next delivery attempt is due (NULL: at once), and when retrying stops: set at
    # creation, pushed forward when an operator replays it.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
