"""Driving the stack the way WordPress does, and reading back what happened."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from disparo.campaigns.models import Campaign, ProviderBatch
from disparo.campaigns.repository import MessageView, list_messages
from disparo.devstack import DevStack

FINAL = {"COMPLETED", "FAILED", "CANCELLED"}


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
                .order_by(ProviderBatch.sequence)
            )
        ).all()
        messages = await list_messages(session, campaign.id, status=None, after=0, limit=None)
    return campaign, list(batches), messages
