"""The redis-py/bullmq trap of DESIGN.md: a job delayed past the 10 s blocking wait must run."""

from __future__ import annotations

import asyncio
import time

import pytest
from bullmq import Worker

from disparo.queues.connection import bullmq_redis_url
from disparo.queues.producer import JobQueues
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.slow


def test_connection_url_keeps_a_socket_timeout_above_the_blocking_wait() -> None:
    url = bullmq_redis_url("redis://127.0.0.1:6379/0")
    assert "socket_timeout=40" in url
    assert "socket_timeout=90" in bullmq_redis_url("redis://h:1/0?socket_timeout=90")


async def test_job_delayed_more_than_12_seconds_runs(redis_prefix: str) -> None:
    queues = JobQueues(REDIS_URL, redis_prefix)
    ran: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def process(job: object, token: str) -> None:
        if not ran.done():
            ran.set_result(time.monotonic())

    worker = Worker("gosac-start", process, {**queues.connection_opts, "drainDelay": 1})
    try:
        added = time.monotonic()
        await queues.add("gosac-start", "delayed-13s", {"campaign_id": "x"}, delay_s=13)
        started = await asyncio.wait_for(ran, timeout=40)
        waited = started - added
        assert 12.5 <= waited <= 25, waited
    finally:
        await worker.close()
        await queues.close()
