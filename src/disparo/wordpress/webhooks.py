"""The webhook outbox: status updates for WordPress are rows first, HTTP calls later.

Delivery is per campaign and in order: the oldest pending webhook goes first and a later one
never overtakes it. Each carries its campaign's `sequencia` (1, 2, 3… in the order they were
written, kept on every retry and replay), so a receiver that remembers the last one it applied
can refuse an older status replayed over a newer one.

One WordPress cannot take yet is retried with capped exponential backoff until its window
(24 h by default) has passed; then, like one WordPress refuses for good (401, 404,
`success: false`), it is FAILED: listed as undeliverable and replayable.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import Select, Uuid, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.providers.policy import ProviderPolicy
from disparo.queues.jobs import PendingJob
from disparo.queues.names import QueueName, webhook_job_id
from disparo.wordpress.client import WebhookOutcome, WordPressClient
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox

log = structlog.get_logger(__name__)


class Campaign(Protocol):
    """What a webhook needs of its campaign (campaigns.models.Campaign has it): this layer
    sits below the campaign domain and names none of its types."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def agendamento_id(self) -> str: ...
    @property
    def provider(self) -> str: ...


# The campaigns table's id, for the row lock below (the outbox's foreign key names it too).
_campaign_id = column("id", Uuid)
_campaigns = table("campaigns", _campaign_id)

RESPOSTA_MAX = 12_000
PROGRESSO_MAX = 2_048
# Retries of a delivery job that found another worker delivering the same campaign.
LOCK_BUSY_ATTEMPTS = 8
# A delayed job may fire a little before the due time written in the database.
EARLY = timedelta(seconds=0.5)


class WebhookNotDelivered(Exception):
    """Raised so the queue runs the delivery job again later (another worker held the lock)."""


def status_payload(
    campaign: Campaign,
    status: str,
    *,
    resposta_api: str = "",
    mensagem_progresso: str = "",
    total_enviados: int | None = None,
    total_falhas: int | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "agendamento_id": campaign.agendamento_id,
        "status": status,
        "provider": campaign.provider,
        "data_disparo": utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if resposta_api:
        payload["resposta_api"] = resposta_api[:RESPOSTA_MAX]
    if mensagem_progresso:
        payload["mensagem_progresso"] = mensagem_progresso[:PROGRESSO_MAX]
    if total_enviados is not None:
        payload["total_enviados"] = total_enviados
    if total_falhas is not None:
        payload["total_falhas"] = total_falhas
    return payload


async def add_webhook(
    session: AsyncSession, settings: Settings, campaign: Campaign, payload: dict[str, Any]
) -> PendingJob:
    """Record the webhook in the caller's transaction; the returned job is added after commit."""
    entry = WebhookOutbox(
        campaign_id=campaign.id,
        agendamento_id=campaign.agendamento_id,
        payload=payload,
        sequencia=await _next_sequencia(session, campaign.id),
        retry_until=utcnow() + timedelta(seconds=settings.webhook_retry_window),
    )
    session.add(entry)
    await session.flush()
    return webhook_job(str(campaign.id), entry.id, settings)


async def _next_sequencia(session: AsyncSession, campaign_id: uuid.UUID) -> int:
    """One more than the campaign's last. The campaign row lock (callers already hold it; taking
    it again is free) keeps two transactions from drawing the same number, and makes the order
    of the numbers the order of the commits, which is the order of delivery."""
    await session.execute(
        select(_campaign_id)
        .select_from(_campaigns)
        .where(_campaign_id == campaign_id)
        .with_for_update()
    )
    last = await session.scalar(
        select(func.max(WebhookOutbox.sequencia)).where(WebhookOutbox.campaign_id == campaign_id)
    )
    return int(last or 0) + 1


def delivery_body(entry: WebhookOutbox) -> dict[str, Any]:
    """What is posted: the payload written with the webhook, plus its `sequencia`."""
    if entry.sequencia is None:
        return dict(entry.payload)
    return {**entry.payload, "sequencia": entry.sequencia}


def webhook_job(
    campaign_id: str, outbox_id: int, settings: Settings, *, attempt: int = 0, delay_s: float = 0
) -> PendingJob:
    return PendingJob(
        QueueName.WEBHOOKS,
        webhook_job_id(campaign_id, outbox_id, attempt),
        {"campaign_id": campaign_id},
        delay_s=delay_s,
        attempts=LOCK_BUSY_ATTEMPTS,
        backoff_s=settings.webhook_retry_delay,
    )


def job_for_entry(entry: WebhookOutbox, settings: Settings) -> PendingJob:
    """The job that delivers this pending webhook when it is due (used by the reconciler)."""
    delay = 0.0
    if entry.next_attempt_at is not None:
        delay = max(0.0, (entry.next_attempt_at - utcnow()).total_seconds())
    return webhook_job(
        str(entry.campaign_id), entry.id, settings, attempt=entry.attempts, delay_s=delay
    )


async def last_webhook_at(session: AsyncSession, campaign_id: uuid.UUID) -> Any:
    return await session.scalar(
        select(func.max(WebhookOutbox.created_at)).where(WebhookOutbox.campaign_id == campaign_id)
    )


async def deliver_pending(
    session: AsyncSession,
    wordpress: WordPressClient,
    settings: Settings,
    campaign_id: Any,
    keep_lock: Callable[[], Awaitable[Any]] | None = None,
) -> tuple[int, PendingJob | None]:
    """Deliver the campaign's due webhooks, oldest first, until one must wait.

    Returns how many were delivered and, when one must wait, the job that retries it (to be
    added after this commits). The caller holds the campaign's delivery lock; `keep_lock`
    renews it before each webhook, however long the backlog.
    """
    delivered = 0
    while (entry := await _head(session, campaign_id)) is not None:
        if keep_lock is not None:
            await keep_lock()
        if entry.next_attempt_at is not None and entry.next_attempt_at > utcnow() + EARLY:
            return delivered, None  # its own delayed job comes back for it, and the rest
        structlog.contextvars.bind_contextvars(
            agendamento_id=entry.agendamento_id, provider=entry.payload.get("provider")
        )
        outcome = await wordpress.post_status(delivery_body(entry))
        retry = _record(entry, outcome, settings)
        await session.commit()
        if retry is not None:
            return delivered, retry
        delivered += outcome.delivered
    return delivered, None


def pending_heads() -> Select[int]:
    """The oldest pending webhook of each campaign: the one to deliver next (in order, so it
    carries the rest of its campaign's). Delivery and the reconciler both go by it."""
    return (
        select(func.min(WebhookOutbox.id))
        .where(
            WebhookOutbox.status == OutboxStatus.PENDING,
            WebhookOutbox.campaign_id.is_not(None),
        )
        .group_by(WebhookOutbox.campaign_id)
    )


async def _head(session: AsyncSession, campaign_id: Any) -> WebhookOutbox | None:
    head = pending_heads().where(WebhookOutbox.campaign_id == campaign_id).scalar_subquery()
    return await session.scalar(select(WebhookOutbox).where(WebhookOutbox.id == head))


async def outbox_backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """Webhooks waiting for WordPress, and when the oldest of them was written (the outbox's
    age: the dashboard and the metrics show it)."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(WebhookOutbox.created_at)).where(
                WebhookOutbox.status == OutboxStatus.PENDING
            )
        )
    ).one()
    return int(count), oldest


def _record(entry: WebhookOutbox, outcome: WebhookOutcome, settings: Settings) -> PendingJob | None:
    """Write one attempt's outcome; the retry job when WordPress should be tried again."""
    now = utcnow()
    entry.attempts += 1
    entry.last_error = None if outcome.delivered else outcome.detail
    if outcome.delivered:
        entry.status, entry.delivered_at, entry.next_attempt_at = OutboxStatus.DELIVERED, now, None
        return None
    until = entry.retry_until or entry.created_at + timedelta(seconds=settings.webhook_retry_window)
    if outcome.retryable and now < until:
        policy = ProviderPolicy(
            base_delay=settings.webhook_retry_delay, max_delay=settings.webhook_retry_max_delay
        )
        delay = policy.backoff(entry.attempts, None)  # doubling, jittered, capped
        entry.next_attempt_at = min(now + timedelta(seconds=delay), until)
        log.warning("webhook.retry_scheduled", attempt=entry.attempts, delay_s=round(delay, 2))
        return job_for_entry(entry, settings)
    entry.status, entry.next_attempt_at = OutboxStatus.FAILED, None
    # Listed by GET /webhooks/undeliverable; rows stay as they were until someone replays it.
    log.error(
        "webhook.undeliverable",
        agendamento_id=entry.agendamento_id,
        status=entry.payload.get("status"),
        detail=outcome.detail,
        attempts=entry.attempts,
        gave_up_after_window=outcome.retryable,
    )
    return None
