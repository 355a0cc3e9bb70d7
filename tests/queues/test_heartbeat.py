"""Heartbeats (real Redis): a holder counts as dead only once its key stayed missing, and a
hung beat does not outlive the key. The claim fence they feed is tested in
tests/campaigns/test_claim_fence.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from disparo.queues.heartbeat import AbsenceWatch, Heartbeat, heartbeat_key
from tests.conftest import REDIS_URL


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield redis
    await redis.aclose()


async def test_a_missing_key_is_dead_only_after_the_confirmation_time(
    client: aioredis.Redis, redis_prefix: str
) -> None:
    beat = Heartbeat(client, redis_prefix, "w-1", ttl=5)
    watch = AbsenceWatch(client, redis_prefix, confirm_after=0.3)
    await beat.beat()
    assert await watch.dead(["w-1", "w-2"]) == set()  # w-2 never beat: missing since now
    await client.delete(heartbeat_key(redis_prefix, "w-1"))  # a flush, say
    assert await watch.dead(["w-1", "w-2"]) == set()
    await beat.beat()  # a live worker writes it again within one interval
    await asyncio.sleep(0.35)
    assert await watch.dead(["w-1", "w-2"]) == {"w-2"}
    await beat.end()
    assert await watch.dead(["w-1"]) == set()
    await asyncio.sleep(0.35)
    assert await watch.dead(["w-1"]) == {"w-1"}


async def test_the_key_expires_when_the_worker_stops_beating(
    client: aioredis.Redis, redis_prefix: str
) -> None:
    beat = Heartbeat(client, redis_prefix, "w-3", ttl=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(beat.run(0.05, stop))
    await asyncio.sleep(0.4)
    assert await client.exists(heartbeat_key(redis_prefix, "w-3"))
    stop.set()
    await task
    await asyncio.sleep(0.3)
    assert not await client.exists(heartbeat_key(redis_prefix, "w-3"))


async def test_a_hung_beat_is_cut_and_tried_again(redis_prefix: str) -> None:
    """A Redis that takes the connection and never answers (a half-open link): each beat
    is cut after the interval, so the next one tries again instead of waiting for the
    40 s socket timeout while the worker's key expires."""
    connections: list[asyncio.StreamWriter] = []
    tried_again = asyncio.Event()

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        if len(connections) >= 2:
            tried_again.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hung = aioredis.Redis(port=port, socket_timeout=40)
    stop = asyncio.Event()
    beating = asyncio.create_task(Heartbeat(hung, redis_prefix, "w-1", ttl=5).run(1.0, stop))
    try:
        async with asyncio.timeout(10):
            await tried_again.wait()
    finally:
        stop.set()
        beating.cancel()  # without the cut, its first SET would hang for 40 s
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        await hung.aclose()
        for writer in connections:
            writer.close()
        server.close()
    assert len(connections) >= 2  # the first beat hung, was cut, and a second one came
