"""Driving the stack the way WordPress does, and reading back what happened."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select

from disparo.campaigns.models import Campaign, ProviderBatch
from disparo.campaigns.repository import MessageView, list_messages
from disparo.devstack import DevStack
from disparo.queues.names import QueueName
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox

FINAL = {"COMPLETED", "FAILED", "CANCELLED"}
CAMPAIGN = "C20250115093000"


def api(stack: DevStack, key: str | None = None) -> httpx.AsyncClient:
    headers = {"X-API-KEY": key if key is not None else stack.api_key}
    return httpx.AsyncClient(base_url=stack.api.url, headers=headers, timeout=30)


async def dispatch(stack: DevStack, agendamento_id: str, **extra: Any) -> httpx.Response:
    async with api(stack) as client:
        return await client.post(
            "/campaigns/dispatch", json={"agendamento_id": agendamento_id, **extra}
        )


async def status(stack: DevStack, key: str) -> dict[str, Any]:
    async with api(stack) as client:
        response = await client.get(f"/campaigns/{key}/status")
        assert response.status_code == 200, response.text
        return dict(response.json())


async def wait_final(
    stack: DevStack, key: str, *, webhooks: int, timeout: float = 30
) -> dict[str, Any]:
    """Wait until the campaign is final and WordPress holds `webhooks` status updates."""
    from tests.conftest import wait_for

    async def done() -> bool:
        current = await status(stack, key)
        agendamento = current["agendamento_id"]
        return (
            current["status"] in FINAL
            and len(stack.wordpress.webhooks_for(agendamento)) >= webhooks
        )

    await wait_for(done, timeout=timeout)
    return await status(stack, key)


async def campaign_rows(
    stack: DevStack, agendamento_id: str
) -> tuple[Campaign, list[ProviderBatch], list[MessageView]]:
    """The campaign, its batches, and its recipients as the API sees them."""
    async with stack.runtime.sessions() as session:
        campaign = await session.scalar(
            select(Campaign).where(Campaign.agendamento_id == agendamento_id)
        )
        assert campaign is not None
        batches = (
            await session.scalars(
                select(ProviderBatch)
                .where(ProviderBatch.campaign_id == campaign.id)
                .order_by(ProviderBatch.sequence, ProviderBatch.id)  # a send before its step
            )
        ).all()
        messages = await list_messages(session, campaign.id, status=None, after=0, limit=None)
    return campaign, list(batches), messages


async def ingested_campaign(
    stack_factory: Callable[..., Awaitable[DevStack]], count: int = 5, **overrides: Any
) -> tuple[DevStack, uuid.UUID]:
    """A campaign dispatched and ingested with no worker running: the test drives the rest."""
    from disparo.campaigns.ingest import run_dispatch

    stack = await stack_factory(with_worker=False, **overrides)
    stack.wordpress.seed_campaign(CAMPAIGN, count)
    await dispatch(stack, CAMPAIGN)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    return stack, campaign.id


async def outbox_statuses(stack: DevStack) -> list[str]:
    """The webhook statuses written for WordPress, in order, delivered or not."""
    async with stack.runtime.sessions() as session:
        entries = (await session.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id))).all()
    return [str(entry.payload["status"]) for entry in entries]


async def webhooks_delivered(stack: DevStack) -> bool:
    """Every webhook written is DELIVERED in the outbox. WordPress records a webhook before
    it answers; the relay marks it only after the answer, so counting WordPress's is early."""
    async with stack.runtime.sessions() as session:
        states = (await session.scalars(select(WebhookOutbox.status))).all()
    return bool(states) and set(states) == {OutboxStatus.DELIVERED}


async def startup_reconcile_done(stack: DevStack) -> None:
    """A worker reconciles once as it starts (its scheduler's first run), and on a loaded
    machine that run can come late. A test that breaks a batch and then counts what its own
    `reconcile` repairs waits for that run first, or the worker's round may repair it first."""
    from tests.conftest import wait_for

    queue = stack.runtime.queues.queue(QueueName.MAINTENANCE)

    async def ran() -> bool:
        counts = await queue.getJobCounts("completed", "failed")
        return bool(sum(counts.values()) >= 1)

    await wait_for(ran, timeout=15)
