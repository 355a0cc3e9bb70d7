"""Second steps obey their account's circuit breaker as sends do: a GOSAC start due while
the account is held or its breaker is open waits PENDING (its history says why, no attempt
spent, no request sent), one probe at a time tests a failing provider, and once it answers
every start runs exactly once, none a dead letter."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from disparo.campaigns.batches import WAITING_OUTCOME
from disparo.campaigns.models import BatchAttempt, BatchStatus, BatchStep, ProviderBatch
from disparo.devstack import DevStack
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import api, campaign_rows, dispatch, wait_final
from tests.e2e.test_gosac_pipeline import gosac

pytestmark = pytest.mark.e2e

GOSAC = "G20250115093000"
BREAKER = {"breaker_window": 4, "breaker_min_requests": 4, "breaker_cooldown": 1.0}
START_RETRIES = {"max_attempts": 3, "base_delay": 0.2, "max_delay": 0.4, "jitter": 0.0}


async def _starts(stack: DevStack) -> list[ProviderBatch]:
    _, batches, _ = await campaign_rows(stack, GOSAC)
    return [b for b in batches if b.step == BatchStep.START]


async def _starts_reach(stack: DevStack, status: BatchStatus, count: int, timeout: float) -> None:
    async def reached() -> bool:
        return sum(b.status == status for b in await _starts(stack)) == count

    await wait_for(reached, timeout=timeout)


async def _outcomes(stack: DevStack, batch_ids: list[int]) -> Counter[str]:
    async with stack.runtime.sessions() as session:
        rows = await session.scalars(
            select(BatchAttempt.outcome).where(BatchAttempt.batch_id.in_(batch_ids))
        )
        return Counter(rows)


def _started_campaign_ids(stack: DevStack) -> Counter[str]:
    ok = [r for r in gosac(stack).requests_to("start") if r.response_status < 300]
    return Counter(r.path.rsplit("/", 3)[-3] for r in ok)  # …/{id}/status/started


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_start_due_while_its_account_is_held_waits_and_runs_once_resumed(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(gosac_start_delay=0.5, reconcile_interval=0.3)
    stack.wordpress.seed_campaign(GOSAC, 3)
    await dispatch(stack, GOSAC)
    await wait_final(stack, GOSAC, webhooks=2)
    async with api(stack) as client:
        [account] = (await client.get("/providers/health")).json()["accounts"]
        held = await client.post(f"/providers/{account['account']}/hold")
        assert held.status_code == 200, held.text

        # Well past the start's delay: it asked, was held back, and asked again later.
        async def told_to_wait() -> bool:
            ids = [b.id for b in await _starts(stack)]
            return bool(ids) and (await _outcomes(stack, ids))[WAITING_OUTCOME] >= 1

        await wait_for(told_to_wait, timeout=20)
        [start] = await _starts(stack)
        assert start.status == BatchStatus.PENDING
        assert start.attempts - start.uncounted_attempts == 0  # the wait spent nothing
        assert gosac(stack).requests_to("start") == []

        resumed = await client.post(f"/providers/{account['account']}/resume")
        assert resumed.json()["woken_batches"] >= 1  # the start, woken, not left to its due time
    await _starts_reach(stack, BatchStatus.SENT, 1, timeout=20)
    assert len(gosac(stack).requests_to("start")) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_failing_start_route_opens_the_breaker_and_costs_a_few_probes(
    stack_factory: StackFactory,
) -> None:
    batches, outage_s = 8, 6.0
    stack = await stack_factory(
        gosac_batch_size=1,
        gosac_start_delay=0.2,
        reconcile_interval=0.3,
        reconcile_grace=0.1,
        provider_policies={"GOSAC": BREAKER, "GOSAC:start": START_RETRIES},
    )
    stack.wordpress.seed_campaign(GOSAC, batches)
    gosac(stack).fail_next(503, count=10_000, route="start")  # down until the test says
    await dispatch(stack, GOSAC)
    await wait_final(stack, GOSAC, webhooks=2)
    await asyncio.sleep(outage_s)  # the outage's length itself, not a clock
    during = len(gosac(stack).requests_to("start"))
    gosac(stack).faults.clear("start")  # back

    await _starts_reach(stack, BatchStatus.SENT, batches, timeout=60)
    # Without the breaker the 8 starts would each spend their 3 attempts and end dead
    # letters; with it: the window's 4 failures, what was in flight, then a probe per
    # cool-down.
    assert during <= 4 + 4 + outage_s / BREAKER["breaker_cooldown"] + 2, during
    assert set(_started_campaign_ids(stack).values()) == {1}  # each campaign started once
    starts = await _starts(stack)
    assert all(b.dead_lettered_at is None for b in starts)
    assert (await _outcomes(stack, [b.id for b in starts]))[WAITING_OUTCOME] >= 1
