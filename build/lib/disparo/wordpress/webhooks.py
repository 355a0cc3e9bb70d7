"""The webhook outbox: status updates for WordPress are rows first, HTTP calls later."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import Campaign, OutboxStatus, WebhookOutbox
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.queues.jobs import PendingJob
from disparo.queues.names import QueueName, webhook_job_id
from disparo.wordpress.client import WordPressClient

log = structlog.get_logger(__name__)

RESPOSTA_MAX = 12_000
PROGRESSO_MAX = 2_048


class WebhookNotDelivered(Exception):
    """Raised so the queue retries delivery later, with backoff."""


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
        campaign_id=campaign.id, agendamento_id=campaign.agendamento_id, payload=payload
    )
    session.add(entry)
    await session.flush()
    return webhook_job(settings, str(campaign.id), entry.id)


def webhook_job(settings: Settings, campaign_id: str, outbox_id: int) -> PendingJob:
    return PendingJob(
        QueueName.WEBHOOKS,
        webhook_job_id(campaign_id, outbox_id),
        {"campaign_id": campaign_id},
        attempts=settings.webhook_attempts,
        backoff_s=settings.webhook_retry_delay,
    )


async def deliver_pending(
    session: AsyncSession, wordpress: WordPressClient, campaign_id: Any, *, last_attempt: bool
) -> int:
    """Deliver the campaign's pending webhooks in the order they were written.

    Stops at the first one WordPress could not take yet, so a later status never overtakes
    an earlier one; raises WebhookNotDelivered to be retried unless this is the last attempt.
    """
    pending = (
        await session.scalars(
            select(WebhookOutbox)
            .where(
                WebhookOutbox.campaign_id == campaign_id,
                WebhookOutbox.status == OutboxStatus.PENDING,
            )
            .order_by(WebhookOutbox.id)
        )
    ).all()
    delivered = 0
    for entry in pending:
        structlog.contextvars.bind_contextvars(
            agendamento_id=entry.agendamento_id, provider=entry.payload.get("provider")
        )
        outcome = await wordpress.post_status(entry.payload)
        entry.attempts += 1
        entry.last_error = None if outcome.delivered else outcome.detail
        if outcome.delivered:
            entry.status = OutboxStatus.DELIVERED
            entry.delivered_at = utcnow()
            delivered += 1
        elif outcome.retryable and not last_attempt:
            await session.commit()
            raise WebhookNotDelivered(outcome.detail)
        else:
            entry.status = OutboxStatus.FAILED
            # 401 means our key is wrong: WordPress rows stay `pendente` until someone looks.
            log.error(
                "webhook.undeliverable",
                agendamento_id=entry.agendamento_id,
                status=entry.payload.get("status"),
                detail=outcome.detail,
                attempts=entry.attempts,
            )
        await session.commit()
    return delivered
