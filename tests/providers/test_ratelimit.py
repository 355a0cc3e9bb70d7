"""The shared rate limiter against the real Redis: limits, pauses and recipients/s are
decided in Redis, so two limiter objects (two worker processes) see the same budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from disparo.providers.policy import ProviderPolicy
from disparo.providers.ratelimit import WINDOW_MS, RateLimiter
from tests.conftest import REDIS_URL


@pytest.fixture
async def limiters(redis_prefix: str) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    first, second = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    yield RateLimiter(first, redis_prefix), RateLimiter(second, redis_prefix)
    await first.aclose()
    await second.aclose()


async def test_two_limiters_share_one_budget(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    one, two = limiters
    policy = ProviderPolicy(requests_per_second=3)
    granted = [await limiter.wait_time("CDA:a", policy, 1) for limiter in (one, two, one)]
    refused = await two.wait_time("CDA:a", policy, 1)

    assert granted == [0, 0, 0]
    assert 0 < refused <= WINDOW_MS / 1000
    assert await one.wait_time("CDA:other", policy, 1) == 0  # another account, its own budget


async def test_a_look_takes_nothing(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    one, _ = limiters
    policy = ProviderPolicy(requests_per_second=1)
    for _ in range(3):
        assert await one.wait_time("CDA:a", policy, 1, take=False) == 0
    assert await one.wait_time("CDA:a", policy, 1) == 0
    assert await one.wait_time("CDA:a", policy, 1, take=False) > 0


async def test_a_pause_holds_every_limiter_of_the_account(
    limiters: tuple[RateLimiter, RateLimiter],
) -> None:
    one, two = limiters
    unlimited = ProviderPolicy()
    await one.pause("CDA:a", 5)
    await one.pause("CDA:a", 1)  # a shorter pause never shortens a longer one

    assert 4 < await two.wait_time("CDA:a", unlimited, 1) <= 5
    assert await two.wait_time("CDA:b", unlimited, 1) == 0
    assert await two.acquire("CDA:a", unlimited, 1, max_wait=0.5) > 4  # too long: handed back


async def test_recipients_per_second_spaces_requests_by_their_size(
    limiters: tuple[RateLimiter, RateLimiter],
) -> None:
    one, two = limiters
    policy = ProviderPolicy(recipients_per_second=1000)
    assert await one.wait_time("CDA:a", policy, 2000) == 0
    wait = await two.wait_time("CDA:a", policy, 10)
    assert 1.5 < wait <= 2.0  # 2,000 recipients at 1,000/s: the next waits ~2 s


async def test_under_one_request_a_second(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    one, _ = limiters
    policy = ProviderPolicy(requests_per_second=0.5)
    assert await one.wait_time("CDA:a", policy, 1) == 0
    assert 2.0 < await one.wait_time("CDA:a", policy, 1) <= 2 * WINDOW_MS / 1000


async def test_acquire_waits_for_the_next_slot(limiters: tuple[RateLimiter, RateLimiter]) -> None:
    one, two = limiters
    policy = ProviderPolicy(requests_per_second=1)
    assert await one.acquire("CDA:a", policy, 1, max_wait=5) == 0
    assert await two.acquire("CDA:a", policy, 1, max_wait=5) == 0  # after ~1.1 s
    assert await one.wait_time("CDA:a", policy, 1, take=False) > 0


async def test_an_account_whose_keys_redis_lost_is_held_one_window(
    limiters: tuple[RateLimiter, RateLimiter], redis_prefix: str
) -> None:
    """Redis restarted empty, flushed, or a replica promoted before its first sync: the
    slots granted just before are gone, so a process that had used the account holds it one
    window (a first use anywhere is not held)."""
    one, two = limiters
    policy = ProviderPolicy(requests_per_second=3)
    assert await one.wait_time("CDA:lost", policy, 1) == 0
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.delete(*[key async for key in client.scan_iter(match=f"{redis_prefix}:*")])
    await client.aclose()

    assert await two.wait_time("CDA:first", policy, 1) == 0  # never used by `two`: no hold
    held = await one.wait_time("CDA:lost", policy, 1)
    assert 0 < held <= WINDOW_MS / 1000
    assert await two.wait_time("CDA:lost", policy, 1) > 0  # the hold is the account's
