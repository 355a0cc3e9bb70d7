"""`disparo demo` for two-step providers: the second steps (GOSAC start, Marketing Cloud run)
run after a few seconds instead of minutes, and the demo waits for them to report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select

from disparo.campaigns.models import OPEN_BATCH, BatchStep, Campaign, ProviderBatch
from disparo.config import Settings
from disparo.devstack import DevStack
from disparo.providers.registry import PLUGINS, provider_settings
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox

DEMO_STEP_DELAY = 3.0


@dataclass(frozen=True)
class StepOutcome:
    step: str
    status: str
    detail: str


def with_short_second_steps(settings: Settings, provider: str) -> tuple[Settings, str]:
    """The demo's settings, with every plugin's second steps due after seconds, and the line
    that tells the user so ("" when `provider` has no second step)."""
    configured = []
    for plugin in PLUGINS:
        for step in plugin.steps:
            delay = getattr(provider_settings(settings, plugin.code), step.delay_setting)
            if plugin.code == provider:
                configured.append(f"{step.label} {delay:.0f} s")
            settings = settings.with_provider(plugin.code, **{step.delay_setting: DEMO_STEP_DELAY})
    if not configured:
        return settings, ""
    note = (
        f"second steps run {DEMO_STEP_DELAY:.0f} s after the sends in this demo "
        f"(configured: {', '.join(configured)})"
    )
    return settings, note


async def wait_second_steps(
    stack: DevStack, agendamento_id: str, timeout: float = 120.0
) -> list[StepOutcome]:
    """Wait until the campaign's second steps ended and their webhooks left; their outcomes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        steps, webhooks_pending = await _state(stack, agendamento_id)
        settled = all(s.status not in OPEN_BATCH for s in steps) and not webhooks_pending
        if settled or loop.time() > deadline:
            return [
                StepOutcome(s.step, s.status.value, s.last_error or s.response or "") for s in steps
            ]
        await asyncio.sleep(0.2)


async def _state(stack: DevStack, agendamento_id: str) -> tuple[list[ProviderBatch], bool]:
    async with stack.runtime.sessions() as session:
        campaign = await session.scalar(
            select(Campaign).where(Campaign.agendamento_id == agendamento_id)
        )
        if campaign is None:
            return [], False
        steps = list(
            await session.scalars(
                select(ProviderBatch)
                .where(
                    ProviderBatch.campaign_id == campaign.id,
                    ProviderBatch.step != BatchStep.SEND,
                )
                .order_by(ProviderBatch.step, ProviderBatch.sequence)
            )
        )
        pending = await session.scalar(
            select(WebhookOutbox.id)
            .where(
                WebhookOutbox.campaign_id == campaign.id,
                WebhookOutbox.status == OutboxStatus.PENDING,
            )
            .limit(1)
        )
    return steps, pending is not None
