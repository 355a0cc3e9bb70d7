"""`disparo demo` for two-step providers: the second steps (GOSAC start, Marketing Cloud run)
run after a few seconds instead of minutes, and the demo waits for them to report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select

from disparo.campaigns.models import (
    OPEN_BATCH,
    BatchStep,
    Campaign,
    OutboxStatus,
    ProviderBatch,
    WebhookOutbox,
)
from disparo.config import Settings
from disparo.devstack import DevStack

DEMO_STEP_DELAY = 3.0


@dataclass(frozen=True)
class StepOutcome:
    step: str
    status: str
    detail: str


def with_short_second_steps(settings: Settings) -> tuple[Settings, str]:
    """The demo's settings, and the line that tells the user the delays were shortened."""
    note = (
        f"second steps run {DEMO_STEP_DELAY:.0f} s after the sends in this demo "
        f"(configured: GOSAC start {settings.gosac_start_delay:.0f} s, "
        f"Marketing Cloud {settings.salesforce_mkc_delay:.0f} s)"
    )
    short = settings.model_copy(
        update={"gosac_start_delay": DEMO_STEP_DELAY, "salesforce_mkc_delay": DEMO_STEP_DELAY}
    )
    return short, note


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
                StepOutcome(s.step.value, s.status.value, s.last_error or s.response or "")
                for s in steps
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
