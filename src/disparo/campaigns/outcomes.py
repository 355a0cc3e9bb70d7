"""Campaign state transitions. Callers own the transaction; each returns the jobs to add
after it commits."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Update, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.followups import STEP_QUEUES, plan_follow_ups
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
from disparo.campaigns.rows import reason_kind
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.providers.base import ProviderCode
from disparo.providers.registry import SEND_QUEUES as PROVIDER_QUEUES
from disparo.queues.jobs import PendingJob
from disparo.queues.names import step_job_id
from disparo.wordpress.webhooks import add_webhook, last_webhook_at, status_payload

# Reason kinds the final webhook's summary names; more are '…'.
SUMMARY_REASONS = 5


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
    """A batch of a cancelled campaign that will not be sent (see cancel_batches)."""
    return await cancel_batches(session, campaign, [batch])


# Sequences per UPDATE ... IN (...): well under every driver's bound-parameter limit.
SEQUENCE_CHUNK = 1_000


async def cancel_batches(
    session: AsyncSession, campaign: Campaign, batches: Sequence[ProviderBatch]
) -> int:
    """Batches of a cancelled campaign that will not be sent: CANCELLED, their pending
    recipients FAILED with the reason (so none is left PENDING). Returns their count. One
    count and one UPDATE of the recipients per thousand batches, not one per batch. A later
    step (GOSAC start, Marketing Cloud) has no recipients of its own."""
    sends = sorted(batch.sequence for batch in batches if batch.step == BatchStep.SEND)
    pending: dict[int, int] = {}
    for start in range(0, len(sends), SEQUENCE_CHUNK):
        chunk = sends[start : start + SEQUENCE_CHUNK]
        waiting = (
            CampaignMessage.campaign_id == campaign.id,
            CampaignMessage.batch_seq.in_(chunk),
            CampaignMessage.status == MessageStatus.PENDING,
        )
        counts = await session.execute(
            select(CampaignMessage.batch_seq, func.count())
            .where(*waiting)
            .group_by(CampaignMessage.batch_seq)
        )
        pending.update({int(sequence or 0): int(count) for sequence, count in counts})
        await session.execute(
            update(CampaignMessage)
            .where(*waiting)
            .values(status=MessageStatus.FAILED, last_error=CANCELLED_REASON)
        )
    now = utcnow()
    for batch in batches:
        batch.status, batch.last_error, batch.finished_at = (
            BatchStatus.CANCELLED,
            CANCELLED_REASON,
            now,
        )
        batch.due_at = None
        batch.failed_count = pending.get(batch.sequence, 0) if batch.step == BatchStep.SEND else 0
        record_attempt(session, batch, "cancelled", CANCELLED_REASON)
    total = sum(pending.values())
    campaign.failed_messages += total
    return total


def pending_messages(
    campaign_id: uuid.UUID, sequence: int, ids: Sequence[int] | None = None
) -> Update:
    """An UPDATE of the batch's recipients still waiting for an outcome (of `ids` only, when
    given): every ending, cancel and fallback move of recipients starts from this."""
    statement = update(CampaignMessage).where(
        CampaignMessage.campaign_id == campaign_id,
        CampaignMessage.batch_seq == sequence,
        CampaignMessage.status == MessageStatus.PENDING,
    )
    return statement if ids is None else statement.where(CampaignMessage.id.in_(ids))


def row_count(result: Result[Any]) -> int:
    """Rows an UPDATE changed (a claim and an outcome depend on it)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def batch_job(campaign: Campaign, batch: ProviderBatch) -> PendingJob:
    delay = 0.0
    if batch.due_at is not None:
        delay = max(0.0, (batch.due_at - utcnow()).total_seconds())
    priority = 0
    if batch.step == BatchStep.SEND:
        queue = PROVIDER_QUEUES[ProviderCode(campaign.provider)]
        # Fair share: a provider's queue serves every campaign's batch 0, then every
        # campaign's batch 1..., so 100 campaigns dispatched together all start at once and
        # a small campaign is not queued behind a big one's 5,000 batches.
        priority = batch.sequence + 1
    else:
        queue = STEP_QUEUES[batch.step]
    return PendingJob(
        queue,
        step_job_id(campaign.id, batch.step, batch.sequence, batch.attempts),
        {"campaign_id": str(campaign.id), "sequence": batch.sequence, "step": batch.step},
        delay_s=delay,
        priority=priority,
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
    """Close the campaign once no send batch is open. The caller holds the campaign row lock,
    so two batches finishing together cannot both miss (or both take) the last word. A
    second step (GOSAC start, Marketing Cloud) is planned here and reports on its own."""
    if campaign.status != CampaignStatus.PROCESSING:
        return []
    open_count = await session.scalar(
        select(func.count())
        .select_from(ProviderBatch)
        .where(
            ProviderBatch.campaign_id == campaign.id,
            ProviderBatch.step == BatchStep.SEND,
            ProviderBatch.status.in_(OPEN_BATCH),
        )
    )
    if open_count:
        return await progress_webhook(session, settings, campaign)
    campaign.completed_at = utcnow()
    failures = campaign.failed_messages + campaign.skipped_messages + campaign.unknown_messages
    reasons = await skipped_by_kind(session, campaign) if campaign.skipped_messages else ""
    summary = (
        f"{campaign.sent_messages} enviadas, {campaign.failed_messages} com falha, "
        f"{campaign.skipped_messages} ignoradas{reasons}, "
        f"{campaign.unknown_messages} sem confirmação"
    )
    if campaign.sent_messages > 0:
        campaign.status = CampaignStatus.COMPLETED
        webhook_status = "enviado"
    elif not campaign.failed_messages and not campaign.unknown_messages:
        # Every recipient was skipped by the time its batch was claimed (opt-outs): no
        # request was made, so it is the data's verdict, as at ingest, not the provider's.
        campaign.status = CampaignStatus.FAILED
        campaign.error_message = (
            campaign.error_message or f"Nenhum destinatário a enviar: {summary}"
        )
        webhook_status = "erro_validacao"
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
        # The panel keeps one status for every row: the summary says what happened to them
        # (sent, skipped and why), the provider's last answer follows it.
        resposta = f"{summary}\n\n{last}" if last else summary
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
    jobs = [await add_webhook(session, settings, campaign, payload)]
    if campaign.status == CampaignStatus.COMPLETED:
        jobs += [
            batch_job(campaign, step) for step in await plan_follow_ups(session, settings, campaign)
        ]
    return jobs


async def skipped_by_kind(session: AsyncSession, campaign: Campaign) -> str:
    """The campaign's skipped recipients by reason kind, most first, for the summary line:
    ' (2 telefone inválido, 1 opt-out)' (ix_campaign_messages_status: only skipped rows)."""
    rows = await session.execute(
        select(CampaignMessage.skip_reason, func.count())
        .where(
            CampaignMessage.campaign_id == campaign.id,
            CampaignMessage.status == MessageStatus.SKIPPED,
        )
        .group_by(CampaignMessage.skip_reason)
    )
    kinds: Counter[str] = Counter()
    for reason, count in rows:
        kinds[reason_kind(reason or "sem motivo")] += count
    ranked = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))  # ties: by name
    parts = [f"{count} {kind}" for kind, count in ranked[:SUMMARY_REASONS]]
    if len(kinds) > SUMMARY_REASONS:
        parts.append("…")
    return f" ({', '.join(parts)})" if parts else ""


async def progress_webhook(
    session: AsyncSession, settings: Settings, campaign: Campaign
) -> list[PendingJob]:
    """A batch ended but others are open: WordPress hears `processando` with a progress line,
    at most once per `webhook_progress_interval` per campaign (its last webhook's age)."""
    last = await last_webhook_at(session, campaign.id)
    if last is not None and utcnow() - last < timedelta(seconds=settings.webhook_progress_interval):
        return []
    to_send = campaign.total_messages - campaign.skipped_messages
    done = campaign.sent_messages + campaign.failed_messages + campaign.unknown_messages
    percent = math.floor(done / to_send * 100) if to_send else 0
    payload = status_payload(
        campaign,
        "processando",
        mensagem_progresso=f"Processado: {percent}% ({done} / {to_send} msgs; "
        f"{campaign.sent_messages} enviadas, {campaign.failed_messages} com falha)",
        total_enviados=campaign.sent_messages,
        total_falhas=campaign.failed_messages + campaign.unknown_messages,
    )
    return [await add_webhook(session, settings, campaign, payload)]
