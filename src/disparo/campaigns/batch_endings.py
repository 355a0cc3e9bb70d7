"""What a batch's ending does beyond the batch row: a send's recipients and the campaign's
counters (and maybe its close), a second step's webhook. batches.py decides the move and
holds the locks; these run inside its transaction and return the jobs to add after commit."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.fallback import apply_fallback
from disparo.campaigns.followups import step_spec
from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import (
    finish_if_done,
    mark_processing,
    pending_messages,
    record_attempt,
    row_count,
)
from disparo.campaigns.unknown_jobs import ask_later
from disparo.db.base import utcnow
from disparo.providers.base import SendResult
from disparo.queues.jobs import PendingJob
from disparo.runtime import Runtime
from disparo.wordpress.webhooks import add_webhook, status_payload


@dataclass(frozen=True, slots=True)
class Locked:
    """A batch and its campaign, both row-locked in `session`'s transaction: what every
    ending works on."""

    session: AsyncSession
    rt: Runtime
    campaign: Campaign
    batch: ProviderBatch


@dataclass(frozen=True, slots=True)
class Report:
    """What a try ended with, as the batch records it: the text operators read (an error,
    or a second step's answer when it ran), the provider's HTTP status and Retry-After, and
    what WordPress hears if a send's ending closes its campaign as failed."""

    text: str
    status_code: int | None = None
    retry_after: float | None = None
    webhook: str = "erro_envio"

    def spent(self) -> Report:
        return replace(self, text=f"{self.text} (tentativas esgotadas)")


async def end_batch(at: Locked, status: BatchStatus, report: Report) -> list[PendingJob]:
    """The batch's final state, FAILED or UNKNOWN (or SENT, for a second step)."""
    at.batch.status, at.batch.finished_at = status, utcnow()
    if at.batch.step == BatchStep.SEND:
        return await _end_send(at, report)
    return await _end_step(at, report)


async def _end_send(at: Locked, report: Report) -> list[PendingJob]:
    """Every pending recipient of the batch takes its outcome; the campaign may close. A
    batch ended before any claim (no credentials) may be the campaign's first word."""
    session, settings, campaign, batch = at.session, at.rt.settings, at.campaign, at.batch
    jobs = await mark_processing(session, settings, campaign)
    unknown = batch.status == BatchStatus.UNKNOWN
    changed = await session.execute(
        pending_messages(campaign.id, batch.sequence).values(
            status=MessageStatus.UNKNOWN if unknown else MessageStatus.FAILED,
            last_error=report.text,
            attempts=batch.attempts,
        )
    )
    count = row_count(changed)
    batch.last_error, batch.failed_count = report.text, count
    if unknown:
        campaign.unknown_messages += count
        jobs += ask_later(at.rt, campaign, batch)  # where its provider can say what it did
    else:
        campaign.failed_messages += count
    campaign.error_message = report.text
    return jobs + await finish_if_done(session, settings, campaign, report.webhook)


async def _end_step(at: Locked, report: Report) -> list[PendingJob]:
    """What WordPress hears of a second step (CONTRACTS 2.4, 5.2, 5.6). Its contacts stay
    delivered/imported: a failed step leaves the campaign's status, with its error."""
    campaign, batch = at.campaign, at.batch
    spec = step_spec(at.rt.settings, batch.step)
    succeeded = batch.status == BatchStatus.SENT
    if succeeded:
        batch.response, batch.last_error = report.text, None
        webhook = spec.success_webhook
    else:
        batch.last_error = report.text
        campaign.error_message = f"passo {spec.step}: {report.text}"
        webhook = spec.failure_webhook
    if webhook is None:
        return []
    payload = status_payload(
        campaign,
        webhook,
        resposta_api=report.text,
        total_enviados=0 if spec.webhook_totals else None,
        total_falhas=(0 if succeeded else 1) if spec.webhook_totals else None,
    )
    payload["provider"] = spec.webhook_provider
    return [await add_webhook(at.session, at.rt.settings, campaign, payload)]


async def record_accepted(at: Locked, result: SendResult, sent_to: int) -> list[PendingJob]:
    """The provider took a send batch. Only recipients it rejected one by one get their own
    UPDATE; the others read their status from the batch (repository.EFFECTIVE_STATUS)."""
    session, rt, campaign, batch = at.session, at.rt, at.campaign, at.batch
    failed = 0
    for message_id, error in result.failed_ids.items():
        await session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id == message_id)
            .values(status=MessageStatus.FAILED, last_error=error, attempts=batch.attempts)
        )
        failed += 1
    fallback = await apply_fallback(session, rt.settings, rt.providers, campaign, batch, result)
    failed += fallback.failed
    sent_count = sent_to - failed - fallback.moved
    accepted = sent_count or fallback.moved
    batch.status = BatchStatus.SENT if accepted else BatchStatus.FAILED
    batch.sent_count, batch.failed_count = sent_count, failed
    batch.response, batch.provider_reference = result.response_text, result.reference
    batch.finished_at, batch.last_error = utcnow(), None
    record_attempt(session, batch, "sent" if sent_count else "rejected", result.reference)
    campaign.sent_messages += sent_count
    campaign.failed_messages += failed
    return fallback.jobs + await finish_if_done(session, rt.settings, campaign)
