"""Asking about UNKNOWN batches, driven by hand on a stack without workers (real Redis, the
Salesforce simulator, PostgreSQL and SQLite): a worker that died after its request reached
Salesforce, judged like the reconciler and the heartbeat sweep judge it; several workers
asking at once (one answer applies, one resend); the reconciler's scan for questions Redis
lost; the cases where the answer must not resend."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey, Claimed
from disparo.campaigns.controls import cancel_campaign
from disparo.campaigns.dead_workers import judge_abandoned
from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.liveness import stamp_request
from disparo.campaigns.models import BatchAttempt, BatchStatus, Campaign, ProviderBatch
from disparo.campaigns.unknown_jobs import unasked_unknowns
from disparo.campaigns.unknown_queries import run_unknown_query
from disparo.db.base import utcnow
from disparo.devstack import DevStack
from disparo.providers.base import BatchRequest
from disparo.providers.salesforce.simulator import SalesforceSimulator
from disparo.queues.names import QueueName
from tests.conftest import StackFactory
from tests.e2e.helpers import campaign_rows, dispatch

CAMPAIGN = "S20250115093000"


def salesforce(stack: DevStack) -> SalesforceSimulator:
    simulator: SalesforceSimulator = stack.simulators["SALESFORCE"].simulator
    return simulator


async def ingested(stack_factory: StackFactory, count: int = 5, **overrides: Any) -> DevStack:
    stack = await stack_factory(with_worker=False, unknown_resolve_delay=0.0, **overrides)
    stack.wordpress.seed_campaign(CAMPAIGN, count)
    await dispatch(stack, CAMPAIGN)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    return stack


async def died_mid_request(stack: DevStack, sequence: int = 0, *, reached: bool) -> Claimed:
    """Claim and stamp the batch as a worker does before its request leaves; `reached`: the
    request got to Salesforce (the records exist) before the worker died. Then judged."""
    rt = stack.runtime
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    claimed = await batches.claim(rt, BatchKey.send(campaign.id, sequence))
    assert claimed is not None and await stamp_request(rt, claimed)
    if reached:
        adapter = rt.providers["SALESFORCE"]
        credentials = await rt.wordpress.credentials_for(adapter, "1001")
        request = BatchRequest(CAMPAIGN, "1001", sequence, claimed.recipients)
        await adapter.send(rt.http, credentials, request)
    await judge_abandoned(rt, claimed)
    return claimed


async def outcomes(stack: DevStack, campaign_id: uuid.UUID, sequence: int = 0) -> list[str]:
    async with stack.runtime.sessions() as session:
        rows = await session.scalars(
            select(BatchAttempt.outcome)
            .join(ProviderBatch, ProviderBatch.id == BatchAttempt.batch_id)
            .where(ProviderBatch.campaign_id == campaign_id, ProviderBatch.sequence == sequence)
            .order_by(BatchAttempt.id)
        )
        return list(rows)


async def ask(stack: DevStack, claimed: Claimed) -> None:
    key = claimed.key
    await run_unknown_query(stack.runtime, key.campaign_id, key.sequence, claimed.attempt)


async def test_a_dead_workers_batch_is_asked_about_and_found(
    stack_factory: StackFactory,
) -> None:
    stack = await ingested(stack_factory)
    claimed = await died_mid_request(stack, reached=True)
    campaign, [batch], _ = await campaign_rows(stack, CAMPAIGN)
    assert batch.status == BatchStatus.UNKNOWN
    # The question is in Redis, under the claim's own id, right after the judgement.
    job_id = f"campaign:{campaign.id}:ask:0:{claimed.attempt}"
    assert not await stack.runtime.queues.needs_requeue(QueueName.UNKNOWN_QUERIES, job_id)

    await ask(stack, claimed)

    campaign, batches_now, messages = await campaign_rows(stack, CAMPAIGN)
    send = batches_now[0]
    assert (send.status, send.sent_count) == (BatchStatus.SENT, 5)
    assert (campaign.status, campaign.sent_messages, campaign.unknown_messages) == (
        "COMPLETED",
        5,
        0,
    )
    assert {m.status for m in messages} == {"SENT"}
    assert await outcomes(stack, campaign.id) == ["unknown", "asked_sent"]
    await ask(stack, claimed)  # asked again (a duplicate job): nothing changes
    assert await outcomes(stack, campaign.id) == ["unknown", "asked_sent"]


async def test_workers_asking_at_once_resend_once(stack_factory: StackFactory) -> None:
    stack = await ingested(stack_factory)
    claimed = await died_mid_request(stack, reached=False)

    await asyncio.gather(*(ask(stack, claimed) for _ in range(4)))

    campaign, [batch], _ = await campaign_rows(stack, CAMPAIGN)
    assert batch.status == BatchStatus.PENDING
    assert await outcomes(stack, campaign.id) == ["unknown", "asked_resend", "redrive"]
    assert (campaign.status, campaign.unknown_messages) == ("PROCESSING", 0)
    # Each asked unless another's answer was in first; whatever the order, one applied.
    assert 1 <= len(salesforce(stack).requests_to("query")) <= 4
    assert salesforce(stack).contacts == []


async def test_the_reconciler_asks_what_redis_lost(stack_factory: StackFactory) -> None:
    stack = await ingested(stack_factory, reconcile_grace=0.0)
    claimed = await died_mid_request(stack, reached=True)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)

    [job] = await unasked_unknowns(stack.runtime)
    assert job.job_id == f"campaign:{campaign.id}:ask:0:{claimed.attempt}"
    assert job.data == {"campaign_id": str(campaign.id), "sequence": 0, "attempt": claimed.attempt}
    # Ended UNKNOWN more than a day ago (before this release, say): the operator's, not asked.
    await ended_at(stack, campaign.id, utcnow() - timedelta(days=2))
    assert await unasked_unknowns(stack.runtime) == []
    await ended_at(stack, campaign.id, utcnow() - timedelta(hours=1))
    assert len(await unasked_unknowns(stack.runtime)) == 1
    await ask(stack, claimed)
    assert await unasked_unknowns(stack.runtime) == []


async def ended_at(stack: DevStack, campaign_id: uuid.UUID, when: datetime) -> None:
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(ProviderBatch)
            .where(ProviderBatch.campaign_id == campaign_id)
            .values(finished_at=when)
        )


async def test_missing_credentials_leave_it_unknown(stack_factory: StackFactory) -> None:
    stack = await ingested(stack_factory)
    claimed = await died_mid_request(stack, reached=True)
    stack.wordpress.set_credentials("salesforce", None, env_id="1001")  # no operacao now

    await ask(stack, claimed)

    campaign, [batch], _ = await campaign_rows(stack, CAMPAIGN)
    assert batch.status == BatchStatus.UNKNOWN and "operacao" in (batch.last_error or "")
    assert await outcomes(stack, campaign.id) == ["unknown", "asked_no_answer"]
    assert salesforce(stack).requests_to("query") == []
    assert await unasked_unknowns(stack.runtime) == []  # asked once: the operator decides


async def test_a_cancelled_campaigns_absent_batch_is_not_resent(
    stack_factory: StackFactory,
) -> None:
    stack = await ingested(stack_factory, salesforce_batch_size=3)
    claimed = await died_mid_request(stack, reached=False)
    await cancel_campaign(stack.runtime, CAMPAIGN)

    await ask(stack, claimed)

    campaign, batches_now, _ = await campaign_rows(stack, CAMPAIGN)
    assert [b.status for b in batches_now] == [BatchStatus.UNKNOWN, BatchStatus.CANCELLED]
    assert await outcomes(stack, campaign.id) == ["unknown", "asked_absent"]
    async with stack.runtime.sessions() as session:
        assert (await session.get(Campaign, campaign.id)).status == "CANCELLED"  # type: ignore[union-attr]
