"""Provider health per account against the real Redis: shared by two recorders (two worker
processes), bucketed by a clock the test moves, forgotten after its minutes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from disparo.providers import health as health_module
from disparo.providers.health import HealthStats
from tests.conftest import REDIS_URL


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(health_module, "clock", moved)
    return moved


@pytest.fixture
async def recorders(redis_prefix: str) -> AsyncIterator[tuple[HealthStats, HealthStats]]:
    first, second = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    yield HealthStats(first, redis_prefix, 5), HealthStats(second, redis_prefix, 5)
    await first.aclose()
    await second.aclose()


async def test_counts_kinds_latency_and_waits_across_recorders(
    recorders: tuple[HealthStats, HealthStats], clock: Clock
) -> None:
    one, two = recorders
    for _ in range(90):
        await one.record_request("CDA:a", "ok", 0.08)
    clock.now += 45  # another bucket, still inside the 5 minutes
    for _ in range(8):
        await two.record_request("CDA:a", "connection", 0.01)
    await two.record_request("CDA:a", "5xx", 4.0)
    await two.record_request("CDA:a", "4xx", 0.2)
    await one.record_wait("CDA:a", 1.5)
    await one.record_request("CDA:b", "ok", 0.3)

    seen = await two.read("CDA:a")
    assert seen.requests == 100 and seen.per_minute == 20
    assert seen.kinds["ok"] == 90 and seen.kinds["connection"] == 8
    assert seen.kinds["5xx"] == 1 and seen.kinds["4xx"] == 1 and seen.kinds["timeout"] == 0
    assert seen.error_rate == pytest.approx(0.10)
    assert seen.latency_ms["p50"] == 100 and seen.latency_ms["p99"] == 250
    assert seen.rate_limit_waits == 1 and seen.rate_limit_wait_s == 1.5
    assert await one.accounts() == ["CDA:a", "CDA:b"]


async def test_what_is_older_than_its_minutes_is_not_counted(
    recorders: tuple[HealthStats, HealthStats], clock: Clock
) -> None:
    one, _ = recorders
    await one.record_request("CDA:a", "5xx", 0.1)
    clock.now += 5 * 60 + 20
    await one.record_request("CDA:a", "ok", 0.1)
    seen = await one.read("CDA:a")
    assert seen.requests == 1 and seen.kinds["5xx"] == 0
    clock.now += 6 * 60
    assert await one.accounts() == []
