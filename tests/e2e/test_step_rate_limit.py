"""Second steps take slots of their provider account's rate limit, like its sends: the GOSAC
starts of a many-batch campaign, all due at once, reach the simulator no faster than the
account's requests_per_second; a start the limit would hold too long (or that cannot read
the limit) is given back unsent, with no attempt spent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select, update

from disparo.campaigns import reconciler
from disparo.campaigns.models import BatchAttempt, BatchStatus, BatchStep, ProviderBatch
from disparo.campaigns.steps import run_step
from disparo.db.base import utcnow
from disparo.devstack import DevStack
from disparo.providers.policy import account_id, policy_for
from disparo.providers.ratelimit import RateLimiter
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import campaign_rows, dispatch, wait_final
from tests.e2e.test_gosac_pipeline import CAMPAIGN, gosac
from tests.support import busiest_second

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

RATE = 4
BATCHES = 12


async def _starts(stack: DevStack) -> list[ProviderBatch]:
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    return [b for b in batches if b.step == BatchStep.START]


async def test_the_starts_of_many_batches_keep_the_accounts_rate(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(
        gosac_batch_size=1,
        gosac_start_delay=8.0,  # room for the reads below on a loaded machine
        provider_policies={"GOSAC": {"requests_per_second": RATE}},
    )
    stack.wordpress.seed_campaign(CAMPAIGN, BATCHES)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)

    planned: list[ProviderBatch] = []

    async def all_planned() -> bool:
        planned[:] = await _starts(stack)
        return len(planned) == BATCHES

    await wait_for(all_planned)
    # Read before any is claimed (a claim clears due_at): left alone, they would all go now.
    due = {start.due_at for start in planned}
    assert len(due) == 1 and None not in due, due

    async def all_started() -> bool:
        starts = await _starts(stack)
        return all(start.status == BatchStatus.SENT for start in starts)

    await wait_for(all_started, timeout=45)
    puts = gosac(stack).requests_to("start")
    assert len(puts) == BATCHES and {put.response_status for put in puts} == {200}
    assert busiest_second(put.received_at.timestamp() for put in puts) <= RATE
    # One account, one limit: the creates and the starts together keep it too.
    assert busiest_second(r.received_at.timestamp() for r in gosac(stack).requests) <= RATE
    assert {start.attempts - start.uncounted_attempts for start in await _starts(stack)} == {1}


async def planned_start(stack_factory: StackFactory, **overrides: object) -> DevStack:
    """A completed one-batch GOSAC campaign whose start is planned, due in a minute."""
    stack = await stack_factory(gosac_start_delay=60.0, **overrides)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(lambda: _has_start(stack))
    return stack


async def _has_start(stack: DevStack) -> bool:
    return len(await _starts(stack)) == 1


async def _outcomes(stack: DevStack, batch_id: int) -> list[str]:
    async with stack.runtime.sessions() as session:
        rows = await session.scalars(
            select(BatchAttempt.outcome)
            .where(BatchAttempt.batch_id == batch_id)
            .order_by(BatchAttempt.id)
        )
        return list(rows)


async def _assert_given_back(stack: DevStack, low: float, high: float) -> None:
    """PENDING again, due later, unsent, and the claim not counted as an attempt."""
    (start,) = await _starts(stack)
    assert start.status == BatchStatus.PENDING and start.due_at is not None
    assert low <= (start.due_at - utcnow()).total_seconds() <= high
    assert start.attempts - start.uncounted_attempts == 0
    assert await _outcomes(stack, start.id) == ["deferred"]
    assert gosac(stack).requests_to("start") == []


async def test_a_start_held_longer_than_the_max_wait_is_given_back_unsent(
    stack_factory: StackFactory,
) -> None:
    stack = await planned_start(stack_factory, rate_limit_max_wait=1.0)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    provider = stack.runtime.providers["GOSAC"]
    credentials = await stack.runtime.wordpress.credentials_for(provider, campaign.env_id or "")
    # A send's Retry-After pauses the account: its start waits too, far past the max wait.
    await stack.runtime.limiter.pause(account_id(provider, credentials), 30)

    await run_step(stack.runtime, campaign.id, BatchStep.START, 0)

    await _assert_given_back(stack, low=25, high=30)


async def test_a_start_that_cannot_read_the_limit_is_given_back_unsent(
    stack_factory: StackFactory, closed_port: int
) -> None:
    stack = await planned_start(stack_factory, retry_base_delay=20.0)
    unreachable = aioredis.Redis(port=closed_port, socket_connect_timeout=1)
    stack.runtime.__dict__["limiter"] = RateLimiter(unreachable, stack.settings.queue_prefix)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    try:
        await run_step(stack.runtime, campaign.id, BatchStep.START, 0)
    finally:
        await unreachable.aclose()

    # Back after the send policy's base delay: never past a limit nobody can read.
    await _assert_given_back(stack, low=15, high=20)


async def test_a_start_may_wait_for_its_slot_before_it_is_judged_stale(
    stack_factory: StackFactory,
) -> None:
    """A claimed start may wait rate_limit_max_wait for its slot, then take its timeout: the
    reconciler leaves it alone that long (it would otherwise run it a second time)."""
    stack = await planned_start(
        stack_factory, gosac_start_timeout=0.5, rate_limit_max_wait=30.0, stale_send_margin=0
    )
    (start,) = await _starts(stack)
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(  # claimed 5 s ago: past its timeout, within its slot's wait
            update(ProviderBatch)
            .where(ProviderBatch.id == start.id)
            .values(
                status=BatchStatus.SENDING, attempts=1, claimed_at=utcnow() - timedelta(seconds=5)
            )
        )

    await reconciler.reconcile(stack.runtime)

    (after,) = await _starts(stack)
    assert (after.status, after.attempts) == (BatchStatus.SENDING, 1)


async def test_a_start_answered_429_with_retry_after_pauses_the_whole_account(
    stack_factory: StackFactory,
) -> None:
    """The account's limit is one for sends and steps: a Retry-After a start receives holds
    the account's sends too (it held only that start before sends and steps shared
    failed_requests.py)."""
    stack = await planned_start(stack_factory)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    provider = stack.runtime.providers["GOSAC"]
    credentials = await stack.runtime.wordpress.credentials_for(provider, campaign.env_id or "")
    account = account_id(provider, credentials)
    gosac(stack).fail_next(429, retry_after=30, route="start")

    await run_step(stack.runtime, campaign.id, BatchStep.START, 0)

    (start,) = await _starts(stack)
    assert start.status == BatchStatus.PENDING and start.due_at is not None
    assert 25 <= (start.due_at - utcnow()).total_seconds() <= 31
    assert await _outcomes(stack, start.id) == ["retry"]
    policy = policy_for(stack.settings, provider)
    assert 25 < await stack.runtime.limiter.wait_time(account, policy, recipients=0) <= 30
