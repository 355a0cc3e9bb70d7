"""Fault 2: Redis killed and restarted mid-campaign (its append-only file keeps the queues),
and Redis flushed mid-campaign (nothing kept: the reconciler rebuilds the jobs from the
database)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.faults.harness import Rig, assert_clean, audit, report, rig
from tests.faults.infra import RedisServer

pytestmark = pytest.mark.faults


def worker_logs(directory: Path) -> str:
    return "".join(path.read_text() for path in directory.glob("worker-*.log"))


CHAOS = {"seed": 7, "slow": (0.05, 0.3)}
BATCHES = 60  # 300 recipients, 5 per batch
# UNKNOWN only for a batch in flight when Redis went: 2 workers x concurrency 2 at most.
IN_FLIGHT = 4


async def _mid_campaign(the_rig: Rig, requests: int) -> None:
    async def started() -> bool:
        return len(the_rig.cda.requests) >= requests

    await wait_for(started, timeout=60)


async def test_redis_restarted_mid_campaign_completes(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    async with rig(tmp_path, pg_url, own_redis.url, chaos=CHAOS, cda_batch_size=5) as the_rig:
        await the_rig.seed_and_dispatch(300)
        await _mid_campaign(the_rig, 10)
        before = len(the_rig.cda.requests)
        own_redis.kill()
        await asyncio.sleep(2)
        own_redis.start()
        await the_rig.wait_all_final(timeout=90)
        result = await audit(the_rig)
        alive = the_rig.workers.alive()

    report("redis_restart", {"requests_before_restart": before, **result.as_dict()})
    assert before < BATCHES  # the kill hit the campaign midway, not after its last batch
    assert result.requests > before  # and the campaign went on sending after it
    assert_clean(result)
    assert alive == [True, True]  # the workers rode it out
    assert result.by_status["SENT"] + result.by_status["UNKNOWN"] == 300
    assert result.unknown_batches <= IN_FLIGHT


async def test_redis_flushed_mid_campaign_is_rebuilt_by_the_reconciler(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    async with rig(tmp_path, pg_url, own_redis.url, chaos=CHAOS, cda_batch_size=5) as the_rig:
        await the_rig.seed_and_dispatch(300)
        await _mid_campaign(the_rig, 10)
        before = len(the_rig.cda.requests)
        own_redis.flushall()
        await the_rig.wait_all_final(timeout=90)
        result = await audit(the_rig)

    report("redis_flush", {"requests_before_flush": before, **result.as_dict()})
    assert_clean(result)
    assert before < BATCHES  # the flush really hit the campaign midway
    assert result.requests > before
    assert '"reconciler.repaired"' in worker_logs(tmp_path)
    assert result.by_status["SENT"] + result.by_status["UNKNOWN"] == 300
    assert result.unknown_batches <= IN_FLIGHT
