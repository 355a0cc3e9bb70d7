"""The second-step job (gosac-start, salesforce-mkc): one job = one claimed step row.

The row was written with its due time when the campaign's sends ended (followups.py); the
delayed job only carries its ids, and the reconciler adds it again when Redis lost it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.followups import FollowUp, step_spec
from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import batch_job, claim_batch
from disparo.campaigns.repository import lock_campaign
from disparo.db.base import utcnow
from disparo.providers.base import (
    CredentialsError,
    OutcomeUnknownError,
    Provider,
    ProviderCode,
    ProviderError,
    RetryableError,
)
from disparo.providers.policy import ProviderPolicy
from disparo.providers.steps import RunsSecondStep, StepRequest
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime
from disparo.wordpress.client import WordPressError
from disparo.wordpress.webhooks import add_webhook, status_payload

log = structlog.get_logger(__name__)


async def run_step(rt: Runtime, campaign_id: uuid.UUID, step: BatchStep, sequence: int) -> None:
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        batch = await _batch(session, campaign_id, step, sequence)
        send = await _batch(session, campaign_id, BatchStep.SEND, sequence)
    if campaign is None or batch is None or batch.status != BatchStatus.PENDING:
        return  # done, in flight elsewhere, or unknown: nothing to do (idempotent re-run)
    if campaign.status != CampaignStatus.COMPLETED:
        return  # a cancelled campaign does not start
    provider = rt.providers.get(ProviderCode(campaign.provider))
    if not isinstance(provider, RunsSecondStep):
        log.error("step.no_provider", provider=campaign.provider, step=str(step))
        return
    structlog.contextvars.bind_contextvars(
        agendamento_id=campaign.agendamento_id, provider=campaign.provider, step=str(step)
    )
    if not await _claim(rt, campaign_id, step, sequence):
        return
    spec = step_spec(rt.settings, step)
    request = StepRequest(
        campaign.agendamento_id,
        campaign.env_id or "",
        batch.provider_reference,
        send.response if send is not None and spec.per_send_batch else None,
    )
    await _attempt(rt, provider, campaign, spec, request, sequence)


async def _attempt(
    rt: Runtime,
    provider: Provider,
    campaign: Campaign,
    spec: FollowUp,
    request: StepRequest,
    sequence: int,
) -> None:
    """One run of a claimed step, and its outcome recorded."""
    assert isinstance(provider, RunsSecondStep)
    env_id = request.env_id

    async def fetch(path: str) -> Mapping[str, Any]:
        return await rt.wordpress.fetch_credentials(path, env_id)

    try:
        async with asyncio.timeout(spec.timeout_s):
            credentials = await rt.wordpress.credentials_for(provider, env_id)
            answer = await provider.run_step(rt.http, credentials, request, fetch)
    except Exception as exc:
        await _failed(rt, campaign.id, spec, sequence, exc)
    else:
        log.info("step.done")
        await _finish(rt, campaign.id, spec, sequence, BatchStatus.SENT, answer)


async def _failed(
    rt: Runtime, campaign_id: uuid.UUID, spec: FollowUp, sequence: int, exc: Exception
) -> None:
    """Refusals end the step; what the provider did not act on is retried; what it may
    have acted on is retried only when the step is idempotent."""
    if isinstance(exc, CredentialsError):
        await _finish(rt, campaign_id, spec, sequence, BatchStatus.FAILED, exc.message)
    elif isinstance(exc, WordPressError) and exc.retryable:
        await _retry(rt, campaign_id, spec, sequence, exc.message, None)
    elif isinstance(exc, WordPressError):
        await _finish(rt, campaign_id, spec, sequence, BatchStatus.FAILED, exc.message)
    elif isinstance(exc, RetryableError):
        log.warning("step.retryable", error=exc.message, status=exc.status_code)
        await _retry(rt, campaign_id, spec, sequence, exc.message, exc.retry_after)
    elif isinstance(exc, OutcomeUnknownError):
        await _unknown(rt, campaign_id, spec, sequence, exc.message)
    elif isinstance(exc, TimeoutError):
        await _unknown(rt, campaign_id, spec, sequence, "sem resposta a tempo")
    elif isinstance(exc, ProviderError):
        log.warning("step.rejected", error=exc.message, status=exc.status_code)
        await _finish(rt, campaign_id, spec, sequence, BatchStatus.FAILED, exc.message)
    else:
        log.error("step.crashed", exc_info=exc)
        await _unknown(rt, campaign_id, spec, sequence, f"erro interno no passo: {exc!r}")


async def _batch(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    step: BatchStep,
    sequence: int,
    *,
    lock: bool = False,
) -> ProviderBatch | None:
    query = select(ProviderBatch).where(
        ProviderBatch.campaign_id == campaign_id,
        ProviderBatch.step == step,
        ProviderBatch.sequence == sequence,
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def _claim(rt: Runtime, campaign_id: uuid.UUID, step: BatchStep, sequence: int) -> bool:
    """PENDING -> SENDING in one conditional UPDATE: one worker runs a step."""
    async with rt.sessions() as session, session.begin():
        result = await session.execute(claim_batch(campaign_id, step, sequence))
        return bool(getattr(result, "rowcount", 0) == 1)


async def _unknown(
    rt: Runtime, campaign_id: uuid.UUID, spec: FollowUp, sequence: int, reason: str
) -> None:
    """The step may have happened. Idempotent steps just run again; the others stop here."""
    log.error("step.outcome_unknown", error=reason, idempotent=spec.idempotent)
    if spec.idempotent:
        await _retry(rt, campaign_id, spec, sequence, reason, None)
    else:
        await _finish(rt, campaign_id, spec, sequence, BatchStatus.UNKNOWN, reason)


async def _retry(
    rt: Runtime,
    campaign_id: uuid.UUID,
    spec: FollowUp,
    sequence: int,
    reason: str,
    retry_after: float | None,
) -> None:
    settings = rt.settings
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, campaign_id)
        batch = await _batch(session, campaign_id, spec.step, sequence, lock=True)
        if batch is None or batch.status != BatchStatus.SENDING:
            return
        if batch.attempts >= spec.max_attempts:
            jobs = await _end(
                session, rt, campaign, batch, spec, BatchStatus.FAILED,
                f"{reason} (tentativas esgotadas)",
            )  # fmt: skip
        else:
            policy = ProviderPolicy(
                base_delay=settings.retry_base_delay, max_delay=settings.retry_max_delay
            )
            delay = policy.backoff(batch.attempts, retry_after)
            batch.status, batch.last_error = BatchStatus.PENDING, reason
            batch.due_at = utcnow() + timedelta(seconds=delay)
            jobs = [batch_job(campaign, batch)]
            log.info("step.retry_scheduled", delay_s=round(delay, 2), attempt=batch.attempts)
    await enqueue_all(rt.queues, jobs)


async def _finish(
    rt: Runtime,
    campaign_id: uuid.UUID,
    spec: FollowUp,
    sequence: int,
    status: BatchStatus,
    text: str,
) -> None:
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, campaign_id)
        batch = await _batch(session, campaign_id, spec.step, sequence, lock=True)
        if batch is None or batch.status != BatchStatus.SENDING:
            return  # another outcome got there first
        jobs = await _end(session, rt, campaign, batch, spec, status, text)
    await enqueue_all(rt.queues, jobs)


async def _end(
    session: AsyncSession,
    rt: Runtime,
    campaign: Campaign,
    batch: ProviderBatch,
    spec: FollowUp,
    status: BatchStatus,
    text: str,
) -> list[PendingJob]:
    """The step's final state, and what WordPress hears of it (CONTRACTS 2.4, 5.2, 5.6)."""
    batch.status, batch.finished_at = status, utcnow()
    succeeded = status == BatchStatus.SENT
    if succeeded:
        batch.response, batch.last_error = text, None
        webhook = spec.success_webhook
    else:
        batch.last_error = text
        # The contacts stay delivered/imported: the campaign keeps its status, with the
        # step's failure as its last error.
        campaign.error_message = f"passo {spec.step.value}: {text}"
        webhook = spec.failure_webhook
    if webhook is None:
        return []
    payload = status_payload(
        campaign,
        webhook,
        resposta_api=text,
        total_enviados=0 if spec.webhook_totals else None,
        total_falhas=(0 if succeeded else 1) if spec.webhook_totals else None,
    )
    payload["provider"] = spec.webhook_provider
    return [await add_webhook(session, rt.settings, campaign, payload)]


async def expire_stale_step(
    rt: Runtime, campaign_id: uuid.UUID, step: BatchStep, sequence: int
) -> None:
    """A step still SENDING after its worker died."""
    reason = "o worker parou durante o passo"
    await _unknown(rt, campaign_id, step_spec(rt.settings, step), sequence, reason)
