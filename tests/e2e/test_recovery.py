"""WordPress hiccups and lost jobs: retried, reconciled, nothing sent twice, nothing lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    Campaign,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.reconciler import reconcile
from disparo.db.base import utcnow
from disparo.queues.names import QueueName, dispatch_job_id
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import (
    CAMPAIGN,
    campaign_rows,
    dispatch,
    ingested_campaign,
    wait_final,
    webhooks_delivered,
)

pytestmark = pytest.mark.e2e


async def test_wordpress_unavailable_during_dispatch_is_retried(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 20)
    stack.wordpress.fail_next("data", 503, count=2)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 20
    assert stack.wordpress.requests_seen["data"] == 3
    assert len(stack.cda.requests) == 1


async def test_wordpress_down_for_good_fails_the_campaign_after_the_attempts(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(dispatch_attempts=2)
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.wordpress.fail_next("data", 500, count=2)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=1)

    assert final["status"] == "FAILED" and "500" in final["error_message"]
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == ["erro_validacao"]


async def test_webhooks_wait_out_a_wordpress_outage_and_arrive_in_order_once(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 10)
    stack.wordpress.fail_next("webhook", 503, count=3)

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(lambda: webhooks_delivered(stack))

    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == [
        "processando",
        "enviado",
    ]
    async with stack.runtime.sessions() as session:
        outbox = (await session.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id))).all()
    assert [entry.status for entry in outbox] == [OutboxStatus.DELIVERED] * 2
    assert outbox[0].attempts == 4


async def test_reconciler_re_enqueues_a_lost_dispatch(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    await dispatch(stack, CAMPAIGN)
    queue = stack.runtime.queues.queue(QueueName.DISPATCH_CAMPAIGN)
    await queue.remove(dispatch_job_id(CAMPAIGN))  # as if Redis lost it
    await _age_campaign(stack)

    assert await reconcile(stack.runtime) == 1
    assert await queue.getJobState(dispatch_job_id(CAMPAIGN)) == "waiting"
    assert await reconcile(stack.runtime) == 0  # idempotent: the job is there now


async def test_reconciler_turns_a_send_left_in_flight_into_unknown(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory)
    # A worker claimed it, stamped its request (it left for the provider)...
    assert await batches.claim(stack.runtime, BatchKey.send(campaign_id, 0))
    async with stack.runtime.sessions() as session, session.begin():  # ...and died
        hour_ago = utcnow() - timedelta(hours=1)
        await session.execute(
            update(ProviderBatch).values(claimed_at=hour_ago, request_at=hour_ago)
        )

    assert await reconcile(stack.runtime) >= 1

    campaign, rows, messages = await campaign_rows(stack, CAMPAIGN)
    assert campaign.id == campaign_id
    assert rows[0].status == BatchStatus.UNKNOWN
    assert {m.status for m in messages} == {MessageStatus.UNKNOWN}
    assert campaign.status == CampaignStatus.FAILED and campaign.unknown_messages == 5
    assert stack.cda.requests == []  # never sent blind


async def test_reconciler_sends_again_a_claim_whose_request_never_left(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory)
    # A worker claimed it and died before stamping a request: provably nothing was sent.
    assert await batches.claim(stack.runtime, BatchKey.send(campaign_id, 0))
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(ProviderBatch).values(claimed_at=utcnow() - timedelta(hours=1))
        )

    assert await reconcile(stack.runtime) >= 1

    _, rows, messages = await campaign_rows(stack, CAMPAIGN)
    assert rows[0].status == BatchStatus.PENDING  # back in the queue, not UNKNOWN
    assert MessageStatus.UNKNOWN not in {m.status for m in messages}
    async with stack.runtime.sessions() as session:
        outcomes = await session.scalars(
            select(BatchAttempt.outcome)
            .where(BatchAttempt.batch_id == rows[0].id)
            .order_by(BatchAttempt.id)
        )
        assert list(outcomes)[-1] == "requeued"
    assert stack.cda.requests == []  # no worker in this stack: nothing sent yet


async def _age_campaign(stack) -> None:  # type: ignore[no-untyped-def]
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(update(Campaign).values(created_at=utcnow() - timedelta(minutes=5)))
