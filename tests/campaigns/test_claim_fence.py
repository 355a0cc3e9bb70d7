"""A claim is one claim: once a worker was judged dead (frozen, cut off) and its batch
claimed again, nothing the old holder does afterwards may move the new claim, and a judge
acting on what it saw earlier may not judge a claim made since."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select

from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey, Claimed, Report
from disparo.campaigns.dead_workers import judge_abandoned, judge_dead_claims
from disparo.campaigns.liveness import requeue_unsent, stamp_request
from disparo.campaigns.models import BatchStatus, Campaign, CampaignStatus, ProviderBatch
from disparo.migrations import upgrade
from disparo.providers.base import SendResult
from disparo.providers.policy import ProviderPolicy
from disparo.queues.heartbeat import AbsenceWatch, hold_as
from disparo.runtime import Runtime, open_runtime
from tests.conftest import make_settings


@pytest.fixture
async def runtime(db_url: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = make_settings(db_url, redis_prefix, tmp_path)
    await upgrade(settings.sqlalchemy_url)
    rt = await open_runtime(settings)
    yield rt
    hold_as(None)
    await rt.close()


async def _campaign(rt: Runtime) -> BatchKey:
    campaign = Campaign(agendamento_id=f"C{uuid.uuid4().hex[:12]}", provider="CDA")
    campaign.status = CampaignStatus.PROCESSING
    async with rt.sessions() as session, session.begin():
        session.add(campaign)
        await session.flush()
        session.add(ProviderBatch(campaign_id=campaign.id, sequence=0, message_count=1))
    return BatchKey.send(campaign.id, 0)


async def _claim(rt: Runtime, key: BatchKey, holder: str) -> Claimed:
    hold_as(holder)
    claimed = await batches.claim(rt, key)
    assert claimed is not None
    assert claimed.holder == holder
    return claimed


async def _batch(rt: Runtime, key: BatchKey) -> ProviderBatch:
    async with rt.sessions() as session:
        batch = await session.scalar(
            select(ProviderBatch).where(ProviderBatch.campaign_id == key.campaign_id)
        )
        assert batch is not None
        return batch


async def _judged_and_claimed_again(rt: Runtime) -> tuple[Claimed, Claimed]:
    """A claims and waits for its rate-limit slot (unstamped); A is judged dead and the
    batch requeued; B claims it and its request leaves. Returns (A's claim, B's claim)."""
    key = await _campaign(rt)
    stale = await _claim(rt, key, "w-A")
    assert await requeue_unsent(rt, stale)
    live = await _claim(rt, key, "w-B")
    assert await stamp_request(rt, live)
    assert live.attempt > stale.attempt
    return stale, live


async def test_a_judged_claim_cannot_stamp_its_request(runtime: Runtime) -> None:
    key = await _campaign(runtime)
    frozen = await _claim(runtime, key, "w-frozen")
    claimed = await _batch(runtime, key)
    assert (claimed.claimed_by, claimed.claim_attempt, claimed.request_at) == ("w-frozen", 1, None)
    assert await requeue_unsent(runtime, frozen)  # its holder is gone, nothing left
    requeued = await _batch(runtime, key)
    assert requeued.status == BatchStatus.PENDING
    assert (requeued.attempts, requeued.uncounted_attempts) == (2, 2)  # a new job id, uncounted
    assert not await stamp_request(runtime, frozen)  # the holder wakes: no send
    new = await _claim(runtime, key, "w-new")
    assert new.attempt == 3
    assert not await stamp_request(runtime, key.claimed(3, "w-frozen"))  # not its own
    assert await stamp_request(runtime, new)
    assert not await stamp_request(runtime, new)  # one request per claim
    assert not await requeue_unsent(runtime, new)  # stamped: may have been sent
    assert (await _batch(runtime, key)).status == BatchStatus.SENDING


async def test_a_stale_give_back_leaves_the_new_claim_alone(runtime: Runtime) -> None:
    stale, live = await _judged_and_claimed_again(runtime)
    hold_as("w-A")
    await batches.give_back(runtime, stale, 1.0)  # A wakes: the limiter says wait
    after = await _batch(runtime, live.key)
    assert (after.status, after.attempts, after.claimed_by) == (
        BatchStatus.SENDING,
        live.attempt,
        "w-B",
    )
    assert after.request_at is not None  # B's request stays the only one
    hold_as("w-C")
    assert await batches.claim(runtime, live.key) is None  # nobody sends it a second time


async def test_no_move_of_a_stale_claim_touches_the_new_one(runtime: Runtime) -> None:
    stale, live = await _judged_and_claimed_again(runtime)
    hold_as("w-A")
    policy = ProviderPolicy(base_delay=1, max_delay=1, max_attempts=5, deduplicates=True)
    await batches.retry(runtime, stale, policy, Report("503"))
    await batches.unknown(runtime, stale, policy, Report("timeout"))
    await batches.fail(runtime, stale, Report("refused"))
    await batches.step_done(runtime, stale, "ok")
    await batches.sent(runtime, stale, SendResult("ok", "ref-A"))
    after = await _batch(runtime, live.key)
    assert (after.status, after.attempts, after.claimed_by) == (
        BatchStatus.SENDING,
        live.attempt,
        "w-B",
    )
    hold_as("w-B")
    await batches.fail(runtime, live, Report("refused"))  # the current claim still moves
    assert (await _batch(runtime, live.key)).status == BatchStatus.FAILED


async def test_the_same_worker_cannot_stamp_a_claim_it_lost(runtime: Runtime) -> None:
    # One process, two tasks: its first claim was judged while it was cut off, then another
    # of its tasks claimed the batch again. The holder is the same; the attempt is not.
    key = await _campaign(runtime)
    first = await _claim(runtime, key, "w-A")
    assert await requeue_unsent(runtime, first)
    second = await _claim(runtime, key, "w-A")
    assert not await stamp_request(runtime, first)
    assert await stamp_request(runtime, second)


async def test_a_second_judge_leaves_a_live_claim_alone(runtime: Runtime) -> None:
    # Sweepers S1 and S2 both saw A's claim; S1 judged it first; live B claimed since.
    key = await _campaign(runtime)
    seen = await _claim(runtime, key, "w-A")
    await judge_abandoned(runtime, seen)  # S1
    live = await _claim(runtime, key, "w-B")
    await judge_abandoned(runtime, seen)  # S2, unstamped: not requeued under B
    assert (await _batch(runtime, key)).status == BatchStatus.SENDING
    assert await stamp_request(runtime, live)
    await judge_abandoned(runtime, seen)  # S2, stamped: not UNKNOWN under B
    after = await _batch(runtime, key)
    assert (after.status, after.claimed_by, after.attempts) == (
        BatchStatus.SENDING,
        "w-B",
        live.attempt,
    )


class _RacedWatch:
    """Between a sweep's read of the claims and its judgement, another sweeper judges A's
    claim and live worker B claims the batch and sends."""

    def __init__(self, rt: Runtime, key: BatchKey) -> None:
        self.rt, self.key = rt, key
        self.live: Claimed | None = None

    async def dead(self, holders: Iterable[str]) -> set[str]:
        assert set(holders) == {"w-A"}
        seen = self.key.claimed((await _batch(self.rt, self.key)).attempts, "w-A")
        await judge_abandoned(self.rt, seen)
        self.live = await _claim(self.rt, self.key, "w-B")
        assert await stamp_request(self.rt, self.live)
        return {"w-A"}


async def test_a_sweep_judges_the_claims_it_saw_not_the_ones_made_since(
    runtime: Runtime,
) -> None:
    key = await _campaign(runtime)
    await _claim(runtime, key, "w-A")
    watch = _RacedWatch(runtime, key)
    await judge_dead_claims(runtime, cast(AbsenceWatch, watch))
    after = await _batch(runtime, key)
    assert watch.live is not None
    assert (after.status, after.claimed_by, after.attempts) == (
        BatchStatus.SENDING,
        "w-B",
        watch.live.attempt,
    )
