"""Fault 3: PostgreSQL restarted mid-campaign (its own cluster, stopped the hard way)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from disparo.db.scratch import scratch_database
from tests.conftest import wait_for
from tests.faults.harness import assert_clean, audit, report, rig
from tests.faults.infra import PostgresServer, RedisServer

pytestmark = pytest.mark.faults

BATCHES = 60  # 300 recipients, 5 per batch


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


async def test_postgres_restarted_mid_campaign_completes(
    tmp_path: Path, own_postgres: PostgresServer, own_redis: RedisServer
) -> None:
    chaos = {"seed": 3, "slow": (0.05, 0.3)}
    async with (
        scratch_database(own_postgres.url, "disparo_f") as url,
        rig(tmp_path, url, own_redis.url, chaos=chaos, cda_batch_size=5) as the_rig,
    ):
        await the_rig.seed_and_dispatch(300)

        async def midway() -> bool:
            return len(the_rig.cda.requests) >= 10

        await wait_for(midway, timeout=60)
        before = len(the_rig.cda.requests)
        own_postgres.stop("immediate")  # like a crash: no checkpoint, recovery on start
        await asyncio.sleep(2)
        own_postgres.start()
        await the_rig.wait_all_final(timeout=120)
        result = await audit(the_rig)
        alive = the_rig.workers.alive()

    report("postgres_restart", {"requests_before_restart": before, **result.as_dict()})
    assert before < BATCHES  # the restart hit the campaign midway, not after its last batch
    assert result.requests > before  # and the campaign went on sending after it
    assert_clean(result)
    assert alive == [True, True]
    # Only a batch whose answer could not be recorded while the database was down may be
    # UNKNOWN; everything else is sent.
    assert result.by_status["SENT"] + result.by_status["UNKNOWN"] == 300
    # At most the batches in flight when it stopped: 2 workers x concurrency 2.
    assert result.unknown_batches <= 4
