"""Campaign state transitions. Callers own the transaction; each returns the jobs to add
after it commits."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    OPEN_BATCH,
    BatchAttempt,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.providers.base import PROVIDER_QUEUES, ProviderCode
from disparo.queues.jobs import PendingJob
from disparo.queues.names import step_job_id
from disparo.wordpress.webhooks import add_webhook, status_payload


def record_attempt(
    session: AsyncSession,
    batch: ProviderBatch,
    outcome: str,
    error: str | None = None,
    status_code: int | None = None,
) -> None:
    """One line of the batch's attempt history (shown with dead letters), in the caller's
    transaction."""
    session.add(
        BatchAttempt(
            batch_id=batch.id,
            attempt=batch.attempts,
            outcome=outcome,
            status_code=status_code,
            error=error,
        )
    )


CANCELLED_REASON = "campanha cancelada pelo operador"


async def cancel_batch(session: AsyncSession, campaign: Campaign, batch: ProviderBatch) -> int:
    """A batch of a cancelled campaign that will not be sent: CANCELLED, its pending
    recipients FAILED with the reason (so none is left PENDING). Returns their count.
    A later step (GOSAC start, Marketing Cloud) has no recipients of its own."""
    count = 0
    if batch.step == BatchStep.SEND:
        count = await _fail_pending_messages(session, campaign, batch)
    batch.status, batch.last_error, batch.finished_at = (
        BatchStatus.CANCELLED,
        CANCELLED_REASON,
        utcnow(),
    )
    batch.due_at = None
    batch.failed_count = count
    campaign.failed_messages += count
    record_attempt(session, batch, "cancelled", CANCELLED_REASON)
    return count


async def _fail_pending_messages(
    session: AsyncSession, campaign: Campaign, batch: ProviderBatch
) -> int:
    changed = await session.execute(
        update(CampaignMessage)
        .where(
            CampaignMessage.campaign_id == campaign.id,
            CampaignMessage.batch_seq == batch.sequence,
            CampaignMessage.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.FAILED, last_error=CANCELLED_REASON)
    )
    return int(getattr(changed, "rowcount", 0) or 0)


def batch_job(campaign: Campaign, batch: ProviderBatch) -> PendingJob:
    delay = 0.0
    if batch.due_at is not None:
        delay = max(0.0, (batch.due_at - utcnow()).total_seconds())
    return PendingJob(
        PROVIDER_QUEUES[ProviderCode(campaign.provider)],
        step_job_id(campaign.id, batch.step.value, batch.sequence, batch.attempts),
        {"campaign_id": str(campaign.id), "sequence": batch.sequence, "step": batch.step.value},
        delay_s=delay,
    )


async def open_batch_jobs(session: AsyncSession, campaign: Campaign) -> list[PendingJob]:
    """Jobs for every batch the database says still has to be sent."""
    batches = await session.scalars(
        select(ProviderBatch)
        .where(
            ProviderBatch.campaign_id == campaign.id,
            ProviderBatch.step == BatchStep.SEND,
            ProviderBatch.status == BatchStatus.PENDING,
        )
        .order_by(ProviderBatch.sequence)
    )
    return [batch_job(campaign, batch) for batch in batches]


async def fail_campaign(
    session: AsyncSession, settings: Settings, campaign: Campaign, webhook_status: str, reason: str
) -> list[PendingJob]:
    campaign.status = CampaignStatus.FAILED
    campaign.error_message = reason
    campaign.completed_at = utcnow()
    payload = status_payload(
        campaign,
        webhook_status,
        resposta_api=reason,
        total_enviados=campaign.sent_messages,
        total_falhas=campaign.total_messages - campaign.sent_messages,
    )
    return [await add_webhook(session, settings, campaign, payload)]


async def mark_processing(
    session: AsyncSession, settings: Settings, campaign: Campaign
) -> list[PendingJob]:
    """First batch claimed: the campaign is running and WordPress hears `processando`."""
    if campaign.status != CampaignStatus.QUEUED:
        return []
    campaign.status = CampaignStatus.PROCESSING
    campaign.started_at = utcnow()
    payload = status_payload(
        campaign,
        "processando",
        mensagem_progresso=f"Enviando {campaign.total_messages - campaign.skipped_messages} "
        f"mensagens ({campaign.skipped_messages} ignoradas)",
    )
    return [await add_webhook(session, settings, campaign, payload)]


async def finish_if_done(
    session: AsyncSession,
    settings: Settings,
    campaign: Campaign,
    failure_webhook: str = "erro_envio",
) -> list[PendingJob]:
    """Close the campaign once no batch is open. The caller holds the campaign row lock, so
    two batches finishing together cannot both miss (or both take) the last word."""
    open_count = await session.scalar(
        select(func.count())
        .select_from(ProviderBatch)
        .where(ProviderBatch.campaign_id == campaign.id, ProviderBatch.status.in_(OPEN_BATCH))
    )
    if open_count or campaign.status != CampaignStatus.PROCESSING:
        return []
    campaign.completed_at = utcnow()
    failures = campaign.failed_messages + campaign.skipped_messages + campaign.unknown_messages
    summary = (
        f"{campaign.sent_messages} enviadas, {campaign.failed_messages} com falha, "
        f"{campaign.skipped_messages} ignoradas, {campaign.unknown_messages} sem confirmação"
    )
    if campaign.sent_messages > 0:
        campaign.status = CampaignStatus.COMPLETED
        webhook_status = "enviado"
    else:
        campaign.status = CampaignStatus.FAILED
        campaign.error_message = campaign.error_message or "Nenhuma mensagem aceita pelo fornecedor"
        webhook_status = failure_webhook
    last = await session.scalar(
        select(ProviderBatch.response)
        .where(ProviderBatch.campaign_id == campaign.id, ProviderBatch.response.is_not(None))
        .order_by(ProviderBatch.sequence.desc())
        .limit(1)
    )
    if campaign.status == CampaignStatus.COMPLETED:
        resposta = last or summary
    else:
        resposta = campaign.error_message or summary
    payload = status_payload(
        campaign,
        webhook_status,
        resposta_api=resposta,
        mensagem_progresso=f"Concluído: {summary}",
        total_enviados=campaign.sent_messages,
        total_falhas=failures,
    )
    return [await add_webhook(session, settings, campaign, payload)]
