"""The delayed second steps (CONTRACTS.md 4.5): which provider has one, after how long, and
what WordPress hears (each provider's plugin declares its own). A step is a provider_batches
row with its due time, written when the campaign's sends are done, so a lost Redis never
loses it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import BatchStatus, BatchStep, Campaign, ProviderBatch
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.providers.plugin import FollowUp
from disparo.providers.registry import BY_CODE, SECOND_STEPS, STEP_QUEUES, provider_settings

__all__ = ["STEP_QUEUES", "FollowUp", "follow_up_for", "plan_follow_ups", "step_spec"]


def follow_up_for(settings: Settings, provider: str) -> FollowUp | None:
    """The second step of this provider, or None (no step, or switched off)."""
    plugin = BY_CODE.get(provider)
    if plugin is None:
        return None
    own = provider_settings(settings, plugin.code)
    for step in plugin.steps:
        if step.enabled(own):
            return step.follow_up(own)
    return None


def step_spec(settings: Settings, step: str) -> FollowUp:
    if step not in SECOND_STEPS:
        raise ValueError(f"{step} is not a second step")
    plugin, second = SECOND_STEPS[step]
    return second.follow_up(provider_settings(settings, plugin.code))


async def plan_follow_ups(
    session: AsyncSession, settings: Settings, campaign: Campaign
) -> list[ProviderBatch]:
    """Write the campaign's second steps, due after the configured delay. Called when the
    campaign's sends end with something accepted (again, after a redrive of its sends)."""
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
    # A campaign completes again after an operator reopens its sends: the steps it already
    # has stay as they are (one row per (campaign, step, sequence)), only missing ones come.
    planned = set(
        await session.scalars(
            select(ProviderBatch.sequence).where(
                ProviderBatch.campaign_id == campaign.id, ProviderBatch.step == spec.step
            )
        )
    )
    origins = [origin for origin in origins if origin[0] not in planned]
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
