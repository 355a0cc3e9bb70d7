"""A rate-limit slot is checked when its request really leaves: once the connection is
ready (after any wait for the pool or a connect), right before the first byte. A slot that
went stale meanwhile is taken again; one that cannot be taken sends nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from disparo.net.transport import GuardedTransport
from disparo.providers.policy import ProviderPolicy
from disparo.providers.ratelimit import RateLimiter
from disparo.providers.slots import STALE_AFTER, Slot, hold, refresh_stale_slot
from tests.conftest import REDIS_URL, wait_for
from tests.net.test_transport import DEV_OPEN, Handler, answer, raw_server

POLICY = ProviderPolicy(requests_per_second=5)
HELD_FOR = 0.4  # the one connection is busy this long with another request


def one_connection_client() -> httpx.AsyncClient:
    transport = GuardedTransport(
        DEV_OPEN,
        max_response_bytes=1_048_576,
        before_headers=refresh_stale_slot,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )
    return httpx.AsyncClient(transport=transport)


def slow(seconds: float) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(seconds)
        await answer(b"ok")(reader, writer)

    return handler


@pytest.fixture
async def limiter(redis_prefix: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield RateLimiter(client, redis_prefix)
    await client.aclose()


async def _send_holding(http: httpx.AsyncClient, url: str, slot: Slot) -> httpx.Response:
    hold(slot)  # this task's requests are checked against it
    return await http.get(url)


async def test_a_slot_gone_stale_waiting_for_a_connection_is_taken_again(
    limiter: RateLimiter,
) -> None:
    loop = asyncio.get_running_loop()
    async with raw_server(slow(HELD_FOR)) as server, one_connection_client() as http:
        url = f"http://127.0.0.1:{server.port}/send"
        busy = asyncio.create_task(http.get(url))  # takes the pool's one connection
        await asyncio.sleep(0.05)
        granted = loop.time()
        slot = Slot(limiter, "CDA:slots", POLICY, 1, granted)  # fresh when handed over
        answered = await asyncio.create_task(_send_holding(http, url, slot))
        await busy
    assert answered.status_code == 200
    # Checked after the pool wait, not when the request was handed to the client.
    assert slot.granted - granted > HELD_FOR - 0.1 > STALE_AFTER


async def test_a_stale_slot_that_cannot_be_taken_again_sends_nothing(closed_port: int) -> None:
    unreachable = aioredis.Redis(port=closed_port, retry=Retry(NoBackoff(), 0))
    slot = Slot(RateLimiter(unreachable, "slots"), "CDA:slots", POLICY, 1, 0.0)
    headers_seen: list[bytes] = []

    async def record(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers_seen.append(b"request")
        await answer(b"ok")(_, writer)

    async with raw_server(record) as server, one_connection_client() as http:
        with pytest.raises(httpx.ConnectError, match="indisponível"):
            await asyncio.create_task(
                _send_holding(http, f"http://127.0.0.1:{server.port}/send", slot)
            )

        async def connected() -> bool:
            return server.connections == 1

        await wait_for(connected, timeout=5)  # checked once connected, not before
        await asyncio.sleep(0.1)  # a request head, had one been written, is read by now
    await unreachable.aclose()
    assert headers_seen == []  # not one byte of the request left
