"""SMS fallback of the RCS providers.

Two paths, and nobody gets both an RCS and an SMS for one message:
- the provider's own fallback (Ótima's `fallback` field): recipients it reports it reached
  by SMS keep their place in the RCS batch, their row says channel SMS;
- recipients it reports it cannot reach by RCS at all move, once, to a new batch of the same
  campaign whose channel is SMS and which the configured SMS route (another provider, its
  credentials from WordPress as usual) sends like any batch: same claim, retries, outcomes.
  A batch whose channel is SMS never falls back again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Update, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import batch_job, pending_messages
from disparo.config import Settings
from disparo.providers.base import Provider, ProviderCode, SendResult
from disparo.providers.registry import RCS_PROVIDERS, known_codes
from disparo.providers.text import sms_text
from disparo.queues.jobs import PendingJob

RCS = "RCS"
SMS = "SMS"
# Ids per UPDATE ... IN (...): well under every driver's bound-parameter limit.
ID_CHUNK = 1_000


def provider_channel(provider: str) -> str | None:
    """The channel a provider's own batches go out on, recorded where it matters."""
    return RCS if provider in RCS_PROVIDERS else None


def sms_route(settings: Settings, providers: Mapping[ProviderCode, Provider]) -> Provider | None:
    """The provider that re-sends as SMS, or None when none is configured or served."""
    name = settings.rcs_sms_fallback_provider.strip().upper()
    return providers.get(name) if name in known_codes() else None


def no_route_reason(settings: Settings, campaign: Campaign, channel: str | None) -> str:
    """Why batch_provider found nobody to send a batch."""
    if channel != SMS:
        return f"Fornecedor {campaign.provider} não é atendido pelo disparo"
    route = settings.rcs_sms_fallback_provider
    return f"rota SMS não configurada ou não atendida (DISPARO_RCS_SMS_FALLBACK_PROVIDER={route!r})"


def batch_provider(
    settings: Settings,
    providers: Mapping[ProviderCode, Provider],
    campaign: Campaign,
    channel: str | None,
) -> Provider | None:
    """Who sends a batch: the campaign's provider, or the SMS route for a fallback batch."""
    if channel == SMS and campaign.provider in RCS_PROVIDERS:
        return sms_route(settings, providers)
    return providers.get(ProviderCode(campaign.provider))


def batch_text(campaign: Campaign, channel: str | None) -> str:
    """The one body of a batch: the campaign's first text, or its SMS form for SMS."""
    body = campaign.body_text or ""
    return sms_text(body) if channel == SMS and campaign.provider in RCS_PROVIDERS else body


@dataclass
class FallbackOutcome:
    """What the fallback did with an accepted RCS batch's report."""

    moved: int = 0  # recipients now waiting in the SMS batch
    failed: int = 0  # unreachable recipients that no SMS route can take
    jobs: list[PendingJob] = field(default_factory=list)


async def apply_fallback(
    session: AsyncSession,
    settings: Settings,
    providers: Mapping[ProviderCode, Provider],
    campaign: Campaign,
    batch: ProviderBatch,
    result: SendResult,
) -> FallbackOutcome:
    """Record the provider's report of an accepted batch. Caller holds the campaign lock."""
    outcome = FallbackOutcome()
    by_provider = result.sms_fallback_ids - result.failed_ids.keys()
    for ids in _chunks(sorted(by_provider)):
        await session.execute(_pending_in(batch, ids).values(channel=SMS))
    unreachable = {
        message_id: reason
        for message_id, reason in result.unreachable_ids.items()
        if message_id not in result.failed_ids and message_id not in by_provider
    }
    if not unreachable:
        return outcome
    refusal = _why_no_sms(settings, providers, campaign, batch)
    if refusal is not None:
        # One UPDATE per distinct reason (providers report a handful), not per recipient.
        by_reason: dict[str, list[int]] = {}
        for message_id, reason in unreachable.items():
            by_reason.setdefault(reason, []).append(message_id)
        for reason, reason_ids in by_reason.items():
            for ids in _chunks(sorted(reason_ids)):
                await session.execute(
                    _pending_in(batch, ids).values(
                        status=MessageStatus.FAILED,
                        last_error=f"{reason}; {refusal}",
                        attempts=batch.attempts,
                    )
                )
        outcome.failed = len(unreachable)
        return outcome
    sms_batch = await _new_sms_batch(session, campaign, len(unreachable))
    for ids in _chunks(sorted(unreachable)):
        await session.execute(
            _pending_in(batch, ids).values(batch_seq=sms_batch.sequence, channel=SMS)
        )
    outcome.moved = len(unreachable)
    outcome.jobs.append(batch_job(campaign, sms_batch))
    return outcome


def _why_no_sms(
    settings: Settings,
    providers: Mapping[ProviderCode, Provider],
    campaign: Campaign,
    batch: ProviderBatch,
) -> str | None:
    if batch.channel == SMS:
        return "já era o reenvio por SMS"  # once: a fallback batch never falls back again
    if sms_route(settings, providers) is None:
        return "nenhuma rota SMS configurada (DISPARO_RCS_SMS_FALLBACK_PROVIDER)"
    if not batch_text(campaign, SMS):
        return "a mensagem não tem texto para SMS"
    return None


async def _new_sms_batch(session: AsyncSession, campaign: Campaign, count: int) -> ProviderBatch:
    last = await session.scalar(
        select(func.max(ProviderBatch.sequence)).where(
            ProviderBatch.campaign_id == campaign.id, ProviderBatch.step == BatchStep.SEND
        )
    )
    sms_batch = ProviderBatch(
        campaign_id=campaign.id,
        step=BatchStep.SEND,
        sequence=(last or 0) + 1,
        status=BatchStatus.PENDING,
        message_count=count,
        channel=SMS,
        attempts=0,
    )
    session.add(sms_batch)
    await session.flush()
    return sms_batch


def _pending_in(batch: ProviderBatch, ids: Sequence[int]) -> Update:
    return pending_messages(batch.campaign_id, batch.sequence, ids)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for message_id in ids:
        chunk.append(message_id)
        if len(chunk) == ID_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
