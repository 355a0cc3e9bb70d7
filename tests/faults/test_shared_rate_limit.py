"""Fault 5: two worker processes share one provider account limited to R requests/s. Over
30 s no 1-second window (on the provider's clock) holds more than R requests, and together
they reach at least 90% of R."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from disparo.campaigns.controls import cancel_campaign
from tests.conftest import wait_for
from tests.faults.harness import assert_clean, audit, report, rig
from tests.faults.infra import RedisServer

pytestmark = pytest.mark.faults

RATE = 5
SECONDS = 30


def busiest_window(arrivals: list[float]) -> int:
    """The most requests inside any [t, t + 1 s) window, t running over the arrivals."""
    arrivals = sorted(arrivals)
    best = end = 0
    for start, at in enumerate(arrivals):
        while end < len(arrivals) and arrivals[end] < at + 1.0:
            end += 1
        best = max(best, end - start)
    return best


def test_busiest_window_counts_half_open_seconds() -> None:
    assert busiest_window([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert busiest_window([0.0, 1.0, 2.0]) == 1
    assert busiest_window([]) == 0


async def test_two_workers_share_one_rate_limit(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    policy = {"CDA": {"requests_per_second": RATE}}
    async with rig(
        tmp_path, pg_url, own_redis.url, cda_batch_size=1, worker_concurrency=4,
        provider_policies=policy,
    ) as the_rig:  # fmt: skip
        campaign = await the_rig.seed_and_dispatch(RATE * SECONDS * 2)

        async def running() -> bool:
            return len(the_rig.chaos.events) > 0

        await wait_for(running, timeout=60)
        first = the_rig.chaos.events[0].at
        await asyncio.sleep(SECONDS + 0.5)
        await cancel_campaign(the_rig.runtime, campaign)  # the rest is not needed
        await the_rig.wait_all_final(timeout=30)  # batches in flight at the cancel included
        result = await audit(the_rig)
    arrivals = [e.at for e in the_rig.chaos.events if e.at < first + SECONDS]
    rate = len(arrivals) / SECONDS

    report(
        "rate_limit",
        {"limit_per_s": RATE, "seconds": SECONDS, "requests": len(arrivals),
         "observed_per_s": round(rate, 2), "busiest_1s_window": busiest_window(arrivals),
         **result.as_dict()},
    )  # fmt: skip
    assert busiest_window(arrivals) <= RATE
    assert rate >= 0.9 * RATE
    assert_clean(result)
    assert result.unknown_batches == 0  # waiting for a slot never outlives a claim
