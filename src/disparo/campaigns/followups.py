"""The delayed second steps (CONTRACTS.md 4.5): which provider has one, after how long, and
what WordPress hears. A step is a provider_batches row (step START/MKC) with its due time,
written when the campaign's sends are done, so a lost Redis never loses it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import BatchStatus, BatchStep, Campaign, ProviderBatch
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.providers.base import ProviderCode
from disparo.providers.salesforce.adapter import MAX_IN_JOB_WAIT
from disparo.queues.names import QueueName

STEP_QUEUES: Mapping[BatchStep, QueueName] = {
    BatchStep.START: QueueName.GOSAC_START,
    BatchStep.MKC: QueueName.SALESFORCE_MKC,
}


@dataclass(frozen=True, slots=True)
class FollowUp:
    step: BatchStep
    delay_s: float
    timeout_s: float
    max_attempts: int
    # GOSAC: one start per created campaign (send batch); Salesforce: one run per agendamento.
    per_send_batch: bool
    # Whether running it twice is harmless: GOSAC's start is ("already started" = success),
    # an automation run is not, so an unknown outcome there is never repeated blind.
    idempotent: bool
    webhook_provider: str
    success_webhook: str | None
    failure_webhook: str
    # Marketing Cloud's webhooks carry totals 0/0 (ran) and 0/1 (failed); GOSAC's none.
    webhook_totals: bool


def follow_up_for(settings: Settings, provider: str) -> FollowUp | None:
    """The second step of this provider, or None (no step, or switched off)."""
    if provider == ProviderCode.GOSAC and settings.gosac_start_enabled:
        return step_spec(settings, BatchStep.START)
    if provider == ProviderCode.SALESFORCE:
        return step_spec(settings, BatchStep.MKC)
    return None


def step_spec(settings: Settings, step: BatchStep) -> FollowUp:
    if step == BatchStep.START:
        # 5.2: success needs no webhook (rows are already `enviado`), and `iniciado` is never
        # sent (Gen B WordPress turns it into `erro`); `erro_inicio` is `erro` in both.
        return FollowUp(
            step=BatchStep.START,
            delay_s=settings.gosac_start_delay,
            timeout_s=settings.gosac_start_timeout,
            max_attempts=settings.gosac_start_max_attempts,
            per_send_batch=True,
            idempotent=True,
            webhook_provider=ProviderCode.GOSAC.value,
            success_webhook=None,
            failure_webhook="erro_inicio",
            webhook_totals=False,
        )
    if step == BatchStep.MKC:
        return FollowUp(
            step=BatchStep.MKC,
            delay_s=settings.salesforce_mkc_delay,
            timeout_s=_mkc_deadline(settings),
            max_attempts=settings.salesforce_mkc_max_attempts,
            per_send_batch=False,
            idempotent=False,
            webhook_provider="SALESFORCE_MKC",
            success_webhook="mkc_executado",
            failure_webhook="mkc_erro",
            webhook_totals=True,
        )
    raise ValueError(f"{step} is not a second step")


def _mkc_deadline(settings: Settings) -> float:
    """One attempt: the token, every run request and every 429 wait it may take."""
    waits = settings.salesforce_mkc_rate_limit_waits
    return settings.salesforce_mkc_timeout * (waits + 2) + waits * MAX_IN_JOB_WAIT


async def plan_follow_ups(
    session: AsyncSession, settings: Settings, campaign: Campaign
) -> list[ProviderBatch]:
    """Write the campaign's second steps, due after the configured delay. Called once, when
    the campaign's sends end with something accepted."""
    spec = follow_up_for(settings, campaign.provider)
    if spec is None:
        return []
    due = utcnow() + timedelta(seconds=spec.delay_s)
    if spec.per_send_batch:
        sends = await session.scalars(
            select(ProviderBatch)
            .where(
                ProviderBatch.campaign_id == campaign.id,
                ProviderBatch.step == BatchStep.SEND,
                ProviderBatch.status == BatchStatus.SENT,
                ProviderBatch.provider_reference.is_not(None),
            )
            .order_by(ProviderBatch.sequence)
        )
        origins = [(send.sequence, send.provider_reference, send.sent_count) for send in sends]
    else:
        origins = [(0, None, campaign.sent_messages)]
    steps = [
        ProviderBatch(
            campaign_id=campaign.id,
            step=spec.step,
            sequence=sequence,
            status=BatchStatus.PENDING,
            due_at=due,
            provider_reference=reference,
            message_count=count,
        )
        for sequence, reference, count in origins
    ]
    session.add_all(steps)
    await session.flush()
    return steps
