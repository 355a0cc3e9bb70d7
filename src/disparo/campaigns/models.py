"""Tables: campaigns, their recipients and the provider requests (batches). The webhook outbox
lives with the code that delivers it (wordpress/outbox_model.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from disparo.db.base import Base, BigIntId, UTCDateTime, str_enum, utcnow
from disparo.db.masked import MaskedText


class CampaignStatus(StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class MessageStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    RETRYING = "RETRYING"
    SKIPPED = "SKIPPED"
    UNKNOWN = "UNKNOWN"


class BatchStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    WAITING = "WAITING"  # a second step scheduled for due_at (GOSAC start, Marketing Cloud)
    SENT = "SENT"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    CANCELLED = "CANCELLED"


class BatchStep(StrEnum):
    """provider_batches.step: `send`, or the name of a provider's second step (its plugin
    declares it: GOSAC's `start`, Salesforce's `mkc`); the column is plain text."""

    SEND = "send"
    START = "start"
    MKC = "mkc"


_enum = str_enum


TERMINAL_CAMPAIGN = {CampaignStatus.COMPLETED, CampaignStatus.FAILED, CampaignStatus.CANCELLED}
OPEN_BATCH = {BatchStatus.PENDING, BatchStatus.SENDING, BatchStatus.WAITING}


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agendamento_id: Mapped[str] = mapped_column(String(100), unique=True)
    provider: Mapped[str] = mapped_column(String(32), index=True)
    env_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.PENDING, index=True
    )
    total_messages: Mapped[int] = mapped_column(Integer, default=0)
    sent_messages: Mapped[int] = mapped_column(Integer, default=0)
    failed_messages: Mapped[int] = mapped_column(Integer, default=0)
    skipped_messages: Mapped[int] = mapped_column(Integer, default=0)
    unknown_messages: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(MaskedText)
    # The first WordPress row's text: one body for every batch of one-body providers.
    body_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an operator's pause: no batch of the campaign is claimed until it is cleared.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The dispatch's janela_envio as sent (campaigns/windows.py); NULL: no window of its own.
    send_window: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CampaignMessage(Base):
    __tablename__ = "campaign_messages"
    __table_args__ = (
        Index("ix_campaign_messages_batch", "campaign_id", "batch_seq", "status"),
        # Keyset pages (migration 0005): the whole campaign, and one status of it.
        Index("ix_campaign_messages_page", "campaign_id", "id"),
        Index("ix_campaign_messages_status", "campaign_id", "status", "id"),
        # Delivery receipts name a recipient by its phone (migration 0013).
        Index("ix_campaign_messages_phone", "campaign_id", "phone"),
        # WordPress pulls the receipts recorded since its last pass (migration 0016); only
        # rows with a receipt are in it.
        Index(
            "ix_campaign_messages_delivery_changes",
            "campaign_id",
            "delivery_recorded_at",
            "id",
            postgresql_where=text("delivery_recorded_at IS NOT NULL"),
            sqlite_where=text("delivery_recorded_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # No foreign key (migration 0018): its check cost a third of the ingest's COPY, and only
    # the ingest writes these rows, under the campaign's row lock.
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    row_index: Mapped[int] = mapped_column(Integer)
    # The WordPress row's own id (Gen C rows carry `id`; NULL for Gen B rows, which WordPress
    # then finds by row_index): how WordPress writes each outcome onto its row. 0016.
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    batch_seq: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    cpf_cnpj: Mapped[str | None] = mapped_column(String(32))
    id_carteira: Mapped[str | None] = mapped_column(String(100))
    idgis_ambiente: Mapped[str | None] = mapped_column(String(100))
    idcob_contrato: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    # Provider-specific fields of the WordPress row (variables, media, broker code...).
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set only when the message went out on another channel than its batch's (an RCS
    # provider's own SMS fallback); NULL = its batch's channel.
    channel: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[MessageStatus] = mapped_column(
        _enum(MessageStatus), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(MaskedText)
    skip_reason: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The provider's latest word on the handset (campaigns/deliveries.py): SENT, DELIVERED,
    # READ, FAILED or FALLBACK, when the provider said so, and why for FAILED. NULL: no
    # receipt (yet). Migration 0013.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_reason: Mapped[str | None] = mapped_column(String(255))
    # When disparo recorded that receipt (its own clock, not the vendor's `date`): the cursor
    # of WordPress's later passes for receipts (GET /campaigns/{key}/messages?delivery_since).
    delivery_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignReply(Base):
    """A recipient's answer (Ótima's url_callback_mo): stored as it came, one row a reply."""

    __tablename__ = "campaign_replies"
    __table_args__ = (Index("ix_campaign_replies_campaign", "campaign_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    # The recipient the phone belongs to; NULL when the campaign has no such phone.
    message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("campaign_messages.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # sha256 of campaign, phone, time and text: a vendor's repeat is stored once.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)


class ProviderBatch(Base):
    """One request we send (or will send) to a provider, and its outcome."""

    __tablename__ = "provider_batches"
    __table_args__ = (
        UniqueConstraint("campaign_id", "step", "sequence"),
        # The dashboard's sends over the last minute (migration 0017).
        Index("ix_provider_batches_finished", "campaign_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    # Same VARCHAR(16) as migration 0001's non-native enum, which has no CHECK constraint.
    step: Mapped[str] = mapped_column(String(16), default=BatchStep.SEND.value)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[BatchStatus] = mapped_column(
        _enum(BatchStatus), default=BatchStatus.PENDING, index=True
    )
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    # RCS providers: "RCS", or "SMS" for the fallback batch re-sent through the SMS route.
    channel: Mapped[str | None] = mapped_column(String(8))
    last_error: Mapped[str | None] = mapped_column(MaskedText)
    response: Mapped[str | None] = mapped_column(MaskedText)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # `attempts` never goes down (job ids are built from it). Claims that do not count
    # against the attempt limit: those before the last redrive (fresh attempts) and claims
    # given back unsent because the rate limiter asked for a long wait.
    uncounted_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the batch became a dead letter (FAILED with its attempts spent); cleared by redrive.
    dead_lettered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Who holds the current claim (a worker id whose heartbeat lives in Redis; NULL: a
    # process without one), the `attempts` value it claimed, and when its request left (NULL:
    # provably never sent). Migration 0010; queues/heartbeat.py, campaigns/liveness.py.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_attempt: Mapped[int | None] = mapped_column(Integer)
    request_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BatchAttempt(Base):
    """One try at a batch and how it ended: the attempt history shown with dead letters."""

    __tablename__ = "batch_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("provider_batches.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    # sent, retry, failed, unknown, dead_letter, redrive, deferred...
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(MaskedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderHold(Base):
    """A provider account an operator holds (providers/breaker.py's "held"): the database
    keeps it so that it outlives Redis too; the reconciler puts a hold Redis lost back."""

    __tablename__ = "provider_holds"

    account: Mapped[str] = mapped_column(String(161), primary_key=True)
    held_by: Mapped[str] = mapped_column(String(64))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
