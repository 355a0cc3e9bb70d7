"""WordPress (the simulator) down for over two real minutes in the middle of a campaign:
sends wait for their credentials, webhooks wait in the outbox, and once WordPress is back
every webhook arrives, in the order written, each exactly once; nothing is sent twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox
from disparo.wordpress.webhooks import delivery_body
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import CAMPAIGN, dispatch, wait_final

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

OUTAGE_S = 125


async def test_every_webhook_arrives_in_order_once_after_a_long_outage(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(
        cda_batch_size=5,
        worker_concurrency=1,
        # Short backoffs, but attempts enough to outlast the outage several times over.
        retry_base_delay=1.0,
        retry_max_delay=10.0,
        cda_max_attempts=40,
        webhook_retry_delay=1.0,
        webhook_retry_max_delay=10.0,
        webhook_progress_interval=0.0,
    )
    wordpress = stack.wordpress
    wordpress.seed_campaign(CAMPAIGN, 30)
    stack.cda.delay_next(0.5, count=6)

    await dispatch(stack, CAMPAIGN)

    async def first_webhook_applied() -> bool:
        return len(wordpress.webhooks_for(CAMPAIGN)) >= 1

    await wait_for(first_webhook_applied, timeout=30, interval=0.02)
    wordpress.down = True
    await asyncio.sleep(OUTAGE_S)
    refused_while_down = [w for w in wordpress.webhooks if w.response_status == 503]
    wordpress.down = False

    final = await wait_final(stack, CAMPAIGN, webhooks=1, timeout=120)
    async with stack.runtime.sessions() as session:

        async def outbox() -> list[WebhookOutbox]:
            rows = await session.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id))
            return list(rows.all())

        async def all_delivered() -> bool:
            session.expire_all()
            entries = await outbox()
            return bool(entries) and all(e.status == OutboxStatus.DELIVERED for e in entries)

        await wait_for(all_delivered, timeout=60, interval=0.2)
        entries = await outbox()

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 30
    assert len(stack.cda.requests) == 6  # one request per batch, none repeated
    # Webhooks were tried during the outage and kept being tried for all of it.
    assert len(refused_while_down) >= 5
    span = refused_while_down[-1].received_at - refused_while_down[0].received_at
    assert span.total_seconds() >= OUTAGE_S - 15
    # What WordPress applied is exactly the outbox, in its order, each once.
    applied = wordpress.webhooks_for(CAMPAIGN)
    assert applied == [delivery_body(entry) for entry in entries]
    assert [payload["sequencia"] for payload in applied] == list(range(1, len(entries) + 1))
    statuses = [payload["status"] for payload in applied]
    assert statuses[-1] == "enviado" and set(statuses[:-1]) == {"processando"}
    assert len(statuses) >= 3  # the first processando, progress lines, the final status
    assert any("Processado:" in p.get("mensagem_progresso", "") for p in applied[1:-1])
    assert wordpress.row_statuses(CAMPAIGN) == {"enviado"}
