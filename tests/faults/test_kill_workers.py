"""Fault 1: `kill -9` of worker processes at random (seeded) moments during multi-batch
campaigns. Every kill is followed by a fresh worker, as a supervisor would start one."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from disparo.campaigns.models import BatchStatus, ProviderBatch
from disparo.runtime import Runtime
from tests.conftest import wait_for
from tests.faults.harness import assert_clean, audit, report, rig
from tests.faults.infra import RedisServer, Workers

pytestmark = pytest.mark.faults

SEED = 20251115
TRIALS = 24
CONCURRENCY = 2


async def _serving(workers: Workers) -> list[int]:
    """Workers up and consuming: a kill is only a trial if it hits one."""

    async def any_serving() -> bool:
        return bool(workers.serving())

    await wait_for(any_serving, timeout=30, interval=0.1)
    return workers.serving()


# What a worker logs once a request it sent has an outcome (campaigns/sending.py).
SEND_ENDS = (
    b'"send.accepted"', b'"send.retryable"', b'"send.rejected"', b'"send.outcome_unknown"',
    b'"send.deadline_exceeded"', b'"send.crashed"',
)  # fmt: skip


def _mid_request(workers: Workers) -> list[int]:
    """Serving workers with a request out now: their log has more requests than outcomes."""
    busy = []
    for index in workers.serving():
        log = workers.logs[index].read_bytes()
        if log.count(b'"send.request"') > sum(log.count(end) for end in SEND_ENDS):
            busy.append(index)
    return busy


async def _victim(workers: Workers, rng: random.Random) -> tuple[int, bool]:
    """A worker with a request in flight if one shows up within a few seconds (a fresh
    worker on a loaded machine may take that long to pick up work), else any serving one.
    Says whether the victim was mid-request."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while loop.time() < deadline:
        if busy := _mid_request(workers):
            return rng.choice(busy), True
        await asyncio.sleep(0.02)
    return rng.choice(await _serving(workers)), False


async def _batches_in(runtime: Runtime, status: BatchStatus) -> set[int]:
    async with runtime.sessions() as session:
        query = select(ProviderBatch.id).where(ProviderBatch.status == status)
        return set(await session.scalars(query))


async def test_kill_9_at_random_moments_sends_nobody_twice(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    rng = random.Random(SEED)
    chaos = {"seed": SEED, "slow": (0.05, 0.5)}  # replies take a while: kills land mid-request
    async with rig(
        tmp_path, pg_url, own_redis.url, workers=3, chaos=chaos, cda_batch_size=5,
        worker_concurrency=CONCURRENCY,
    ) as the_rig:  # fmt: skip
        moments = []
        mid_request = 0  # kills of a worker whose request was out
        in_flight: set[int] = set()  # batches SENDING right after a kill
        for trial in range(TRIALS):
            if trial % 4 == 0:
                await the_rig.seed_and_dispatch(rng.randint(100, 200))
            pause = rng.uniform(0.3, 1.5)
            await asyncio.sleep(pause)
            victim, busy = await _victim(the_rig.workers, rng)
            the_rig.workers.replace(victim)
            mid_request += busy
            moments.append(round(pause, 2))
            in_flight |= await _batches_in(the_rig.runtime, BatchStatus.SENDING)
        await the_rig.wait_all_final(timeout=120)
        result = await audit(the_rig)
        unknown = await _batches_in(the_rig.runtime, BatchStatus.UNKNOWN)

    report(
        "kill9",
        {
            "seed": SEED,
            "trials": TRIALS,
            "pauses_s": moments,
            "campaigns": len(the_rig.campaigns),
            "kills_mid_request": mid_request,
            "sending_after_kills": len(in_flight),
            **result.as_dict(),
        },
    )
    assert_clean(result)
    assert result.by_status["SENT"] > result.recipients // 2
    # Kills did hit batches in flight, not only idle workers.
    assert mid_request >= TRIALS // 2 and in_flight
    # UNKNOWN only for batches in flight at a kill (at most `concurrency` per kill), and
    # every UNKNOWN batch was one of those.
    assert unknown <= in_flight
    assert result.unknown_batches == len(unknown) <= TRIALS * CONCURRENCY


async def test_sigterm_finishes_the_batch_in_hand(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    chaos = {"seed": 1, "slow": (1.0, 1.5)}
    async with rig(
        tmp_path, pg_url, own_redis.url, workers=1, chaos=chaos, cda_batch_size=10
    ) as the_rig:
        await the_rig.seed_and_dispatch(60)

        async def in_flight() -> bool:
            return len(the_rig.chaos.events) >= 1

        await wait_for(in_flight, timeout=60)
        worker = the_rig.workers.processes[0]
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 30)
        async with the_rig.runtime.sessions() as session:
            statuses = Counter((await session.scalars(select(ProviderBatch.status))).all())
        the_rig.workers.start()
        await the_rig.wait_all_final(timeout=60)
        result = await audit(the_rig)

    report("sigterm", {"exit_code": code, "batches_at_exit": dict(statuses), **result.as_dict()})
    assert code == 0
    assert statuses[BatchStatus.SENDING] == 0 and statuses[BatchStatus.SENT] >= 1
    assert_clean(result)
    assert result.by_status == {"SENT": 60}
