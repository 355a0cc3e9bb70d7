"""An operator's controls over one campaign: pause, resume, cancel, retry-failed, retry-unknown.

The API (`POST /campaigns/{key}/pause` ...), the CLI (`disparo campaign pause KEY` ...) and the
dashboard call these functions. Each one:
- takes `key` = the campaign uuid or its agendamento_id, and raises NotFound when neither;
- is idempotent: asking again changes nothing and answers `changed=False`;
- commits its own transaction (under the campaign row lock, so it orders with the workers'
  outcomes), then adds the jobs it decided (rule 2);
- raises Conflict (HTTP 409) with a message saying why when the campaign's state forbids it;
- tells WordPress through the webhook outbox where CONTRACTS.md 2.4 has a status for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    OPEN_BATCH,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import (
    CANCELLED_REASON,
    batch_job,
    cancel_batches,
    open_batch_jobs,
    record_attempt,
)
from disparo.campaigns.repository import find_campaign, lock_campaign
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.errors import Conflict, NotFound
from disparo.queues.jobs import PendingJob, enqueue_all, requeue
from disparo.queues.names import QueueName, dispatch_job_id
from disparo.runtime import Runtime
from disparo.wordpress.webhooks import add_webhook, status_payload

log = structlog.get_logger(__name__)

FINISHED = {CampaignStatus.COMPLETED, CampaignStatus.FAILED}


@dataclass(frozen=True, slots=True)
class ControlResult:
    """What a control did. `changed` is False when the campaign already was in that state."""

    action: str
    campaign_id: uuid.UUID
    agendamento_id: str
    changed: bool
    status: CampaignStatus
    paused: bool
    batches: int  # batches the control moved (reopened, cancelled, waiting while paused)
    recipients: int  # recipients the control moved (reopened or cancelled)
    message: str


async def pause_campaign(rt: Runtime, key: str) -> ControlResult:
    """Stop claiming batches of the campaign. Batches already out finish normally; the rest
    stay PENDING until `resume_campaign`. WordPress hears `processando` with the reason."""
    async with rt.sessions() as session, session.begin():
        campaign = await _locked_campaign(session, key)
        _refuse_if_over(campaign, "pausar")
        waiting = await _count_batches(session, campaign, BatchStatus.PENDING)
        if campaign.paused_at is not None:
            return _result("pause", campaign, False, waiting, 0, "A campanha já está pausada")
        campaign.paused_at = utcnow()
        job = await _progress_webhook(
            session, rt.settings, campaign, f"Pausada pelo operador; {waiting} lote(s) aguardando"
        )
    await enqueue_all(rt.queues, [job])
    log.info("control.paused", agendamento_id=campaign.agendamento_id, waiting=waiting)
    return _result("pause", campaign, True, waiting, 0, "Campanha pausada")


async def resume_campaign(rt: Runtime, key: str) -> ControlResult:
    """Continue a paused campaign from what the database says is still PENDING (never from a
    cursor): one job per pending batch, respecting each batch's due time."""
    async with rt.sessions() as session, session.begin():
        campaign = await _locked_campaign(session, key)
        _refuse_if_over(campaign, "retomar")
        if campaign.paused_at is None:
            return _result("resume", campaign, False, 0, 0, "A campanha não está pausada")
        campaign.paused_at = None
        jobs = await open_batch_jobs(session, campaign)
        jobs.append(await _progress_webhook(session, rt.settings, campaign, "Retomada"))
    await requeue(rt.queues, jobs)
    log.info("control.resumed", agendamento_id=campaign.agendamento_id, batches=len(jobs) - 1)
    return _result("resume", campaign, True, len(jobs) - 1, 0, "Campanha retomada")


async def cancel_campaign(rt: Runtime, key: str) -> ControlResult:
    """Cancel: every batch not yet sent becomes CANCELLED and its recipients FAILED with the
    reason, their jobs are removed from Redis, and WordPress hears `erro_envio` (the
    contract's mapping of CANCELLED). A batch already out is recorded when it answers."""
    async with rt.sessions() as session, session.begin():
        campaign = await _locked_campaign(session, key)
        if campaign.status == CampaignStatus.CANCELLED:
            return _result("cancel", campaign, False, 0, 0, "A campanha já está cancelada")
        if campaign.status in FINISHED:
            raise Conflict(f"A campanha já terminou ({campaign.status}); nada a cancelar")
        batches = await _batches(session, campaign, OPEN_BATCH - {BatchStatus.SENDING})
        stale_jobs = [batch_job(campaign, batch) for batch in batches]
        recipients = await cancel_batches(session, campaign, batches)
        was_queued = campaign.status == CampaignStatus.QUEUED
        campaign.status, campaign.completed_at = CampaignStatus.CANCELLED, utcnow()
        campaign.paused_at, campaign.error_message = None, CANCELLED_REASON
        webhook = await add_webhook(session, rt.settings, campaign, _cancel_payload(campaign))
    await _remove_jobs(rt, stale_jobs)
    if was_queued:
        await _remove_job(rt, QueueName.DISPATCH_CAMPAIGN, dispatch_job_id(campaign.agendamento_id))
    await enqueue_all(rt.queues, [webhook])
    log.info("control.cancelled", agendamento_id=campaign.agendamento_id, batches=len(batches))
    return _result("cancel", campaign, True, len(batches), recipients, "Campanha cancelada")


async def retry_failed(rt: Runtime, key: str, sequences: Sequence[int] = ()) -> ControlResult:
    """Send the campaign's FAILED batches again (all, or the `sequences` given) with fresh
    attempts: rejected by the provider, dead letters, credentials that were missing."""
    return await _reopen(rt, key, BatchStatus.FAILED, sequences, "retry-failed")


async def retry_unknown(rt: Runtime, key: str, sequences: Sequence[int] = ()) -> ControlResult:
    """Resend the campaign's UNKNOWN batches (all, or the `sequences` given), on an
    operator's word: the provider may already have them, so this can send twice — check
    with the provider first. Never done automatically for a provider that cannot
    deduplicate."""
    return await _reopen(rt, key, BatchStatus.UNKNOWN, sequences, "retry-unknown")


async def _reopen(
    rt: Runtime, key: str, status: BatchStatus, sequences: Sequence[int], action: str
) -> ControlResult:
    async with rt.sessions() as session, session.begin():
        campaign = await _locked_campaign(session, key)
        if campaign.status == CampaignStatus.CANCELLED:
            raise Conflict("A campanha foi cancelada; não há o que reenviar")
        batches = await _batches(session, campaign, {status}, sequences)
        if not batches:
            label = "com falha" if status == BatchStatus.FAILED else "sem confirmação"
            return _result(action, campaign, False, 0, 0, f"Nenhum lote {label} para reenviar")
        jobs, recipients = await reopen_batches(session, rt.settings, campaign, batches, action)
    await requeue(rt.queues, jobs)
    log.info(f"control.{action}", agendamento_id=campaign.agendamento_id, batches=len(batches))
    message = f"{len(batches)} lote(s) com {recipients} destinatário(s) de volta à fila"
    return _result(action, campaign, True, len(batches), recipients, message)


async def reopen_batches(
    session: AsyncSession,
    settings: Settings,
    campaign: Campaign,
    batches: Sequence[ProviderBatch],
    why: str,
    *,
    by: str = "pelo operador",
) -> tuple[list[PendingJob], int]:
    """FAILED/UNKNOWN batches back to PENDING with fresh attempts, a send's recipients with
    it; a finished campaign whose sends reopen runs again and WordPress hears `processando`
    (a second step reopens alone: it runs on the closed campaign). The caller holds the
    campaign lock. Returns the jobs to add after commit (with `requeue`: a batch's old job
    id may still be kept in Redis) and the recipients moved. `by` says who in the progress
    line ("pelo operador", or the automatic resend of an UNKNOWN batch found absent)."""
    recipients = 0
    for batch in batches:
        if batch.step == BatchStep.SEND:
            recipients += await _reopen_messages(session, campaign, batch)
        record_attempt(session, batch, "redrive", why)
        batch.status, batch.due_at, batch.finished_at = BatchStatus.PENDING, None, None
        batch.uncounted_attempts, batch.dead_lettered_at = batch.attempts, None
        batch.sent_count = batch.failed_count = 0
    jobs = [batch_job(campaign, batch) for batch in batches]
    sends = sum(batch.step == BatchStep.SEND for batch in batches)
    if sends and campaign.status in FINISHED:
        campaign.status, campaign.completed_at = CampaignStatus.PROCESSING, None
        campaign.error_message = None
        text = f"Reenvio {by}: {sends} lote(s), {recipients} destinatário(s)"
        jobs.append(await _progress_webhook(session, settings, campaign, text))
    return jobs, recipients


async def _reopen_messages(session: AsyncSession, campaign: Campaign, batch: ProviderBatch) -> int:
    was = MessageStatus.UNKNOWN if batch.status == BatchStatus.UNKNOWN else MessageStatus.FAILED
    changed = await session.execute(
        update(CampaignMessage)
        .where(
            CampaignMessage.campaign_id == campaign.id,
            CampaignMessage.batch_seq == batch.sequence,
            CampaignMessage.status == was,
        )
        .values(status=MessageStatus.PENDING, last_error=None)
    )
    count = int(getattr(changed, "rowcount", 0) or 0)
    if was == MessageStatus.UNKNOWN:
        campaign.unknown_messages -= count
    else:
        campaign.failed_messages -= count
    return count


async def _remove_jobs(rt: Runtime, jobs: Sequence[PendingJob]) -> None:
    """Bullmq removes one job per call: a hundred at a time in flight, not one by one."""
    for start in range(0, len(jobs), 100):
        chunk = jobs[start : start + 100]
        await asyncio.gather(*(_remove_job(rt, job.queue, job.job_id) for job in chunk))


async def _remove_job(rt: Runtime, queue: str, job_id: str) -> None:
    """A job that no longer has work. One running right now cannot be removed; it finds the
    campaign cancelled and ends without sending."""
    with contextlib.suppress(Exception):
        await rt.queues.queue(queue).remove(job_id)


async def _locked_campaign(session: AsyncSession, key: str) -> Campaign:
    found = await find_campaign(session, key)
    if found is None:
        raise NotFound("Campanha não encontrada")
    return await lock_campaign(session, found.id)


def _refuse_if_over(campaign: Campaign, verb: str) -> None:
    if campaign.status in FINISHED or campaign.status == CampaignStatus.CANCELLED:
        raise Conflict(f"A campanha já terminou ({campaign.status}); não há o que {verb}")


async def _batches(
    session: AsyncSession,
    campaign: Campaign,
    statuses: set[BatchStatus],
    sequences: Sequence[int] = (),
) -> list[ProviderBatch]:
    query = select(ProviderBatch).where(
        ProviderBatch.campaign_id == campaign.id, ProviderBatch.status.in_(statuses)
    )
    if sequences:
        query = query.where(
            ProviderBatch.step == BatchStep.SEND, ProviderBatch.sequence.in_(list(sequences))
        )
    elif statuses & {BatchStatus.FAILED, BatchStatus.UNKNOWN}:
        query = query.where(ProviderBatch.step == BatchStep.SEND)
    rows = await session.scalars(query.order_by(ProviderBatch.step, ProviderBatch.sequence))
    return list(rows.all())


async def _count_batches(session: AsyncSession, campaign: Campaign, status: BatchStatus) -> int:
    return len(await _batches(session, campaign, {status}))


async def _progress_webhook(
    session: AsyncSession, settings: Settings, campaign: Campaign, text: str
) -> PendingJob:
    """`processando` keeps WordPress's row `pendente` (what a running campaign is) and Gen C
    shows the progress line; Gen B ignores the line. No other status fits a pause."""
    payload = status_payload(campaign, "processando", mensagem_progresso=text)
    return await add_webhook(session, settings, campaign, payload)


def _cancel_payload(campaign: Campaign) -> dict[str, object]:
    return status_payload(
        campaign,
        "erro_envio",
        resposta_api=CANCELLED_REASON,
        mensagem_progresso=f"Cancelada: {campaign.sent_messages} enviadas antes do cancelamento",
        total_enviados=campaign.sent_messages,
        total_falhas=campaign.total_messages - campaign.sent_messages,
    )


def _result(
    action: str, campaign: Campaign, changed: bool, batches: int, recipients: int, message: str
) -> ControlResult:
    return ControlResult(
        action=action,
        campaign_id=campaign.id,
        agendamento_id=campaign.agendamento_id,
        changed=changed,
        status=campaign.status,
        paused=campaign.paused_at is not None,
        batches=batches,
        recipients=recipients,
        message=message,
    )
