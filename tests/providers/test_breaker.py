"""The circuit breaker's state machine against the real Redis: two breaker objects (two
worker processes) share each account's state; time is moved, never slept."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from disparo.providers import breaker as breaker_module
from disparo.providers.base import (
    InvalidBatchError,
    OutcomeUnknownError,
    RejectedError,
    RetryableError,
)
from disparo.providers.breaker import CircuitBreaker, verdict_of
from disparo.providers.health import kind_of
from disparo.providers.policy import ProviderPolicy
from tests.conftest import REDIS_URL

POLICY = ProviderPolicy(
    breaker_window=20, breaker_failure_ratio=0.5, breaker_min_requests=10, breaker_cooldown=30
)
ACCOUNT = "CDA:abc"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(breaker_module, "clock", moved)
    return moved


@pytest.fixture
async def breakers(redis_prefix: str) -> AsyncIterator[tuple[CircuitBreaker, CircuitBreaker]]:
    first, second = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    yield CircuitBreaker(first, redis_prefix, 300.0), CircuitBreaker(second, redis_prefix, 300.0)
    await first.aclose()
    await second.aclose()


async def _open(one: CircuitBreaker, failures: int = 12, ok: int = 8) -> None:
    for _ in range(ok):
        await one.record(ACCOUNT, POLICY, "ok")
    for _ in range(failures):
        await one.record(ACCOUNT, POLICY, "connection")


async def test_more_than_half_of_the_window_failing_opens_it_for_every_worker(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, two = breakers
    await _open(one, failures=10, ok=10)  # exactly half: still closed
    assert (await two.read(ACCOUNT)).state == "closed"
    assert (await two.admit(ACCOUNT, POLICY)).wait == 0

    assert await one.record(ACCOUNT, POLICY, "5xx") == "open"  # 11 of the last 20
    state = await two.read(ACCOUNT)
    assert state.state == "open"
    assert state.failures_text == "10/20 connection errors, 1/20 5xx errors"
    assert "CDA account CDA:abc paused since" in state.summary
    admission = await two.admit(ACCOUNT, POLICY)
    assert admission.wait == pytest.approx(30, abs=0.01) and not admission.probe
    assert await two.stopped_accounts() == [ACCOUNT]


async def test_fewer_than_min_requests_never_open_it(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, _ = breakers
    for _ in range(9):
        assert await one.record(ACCOUNT, POLICY, "connection") == "closed"
    assert await one.record(ACCOUNT, POLICY, "connection") == "open"


async def test_refusals_and_unknown_outcomes_are_no_failures(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, _ = breakers
    refused = verdict_of(kind_of(RejectedError("HTTP 400", status_code=400)))
    unknown = verdict_of(kind_of(OutcomeUnknownError("sem resposta")))
    throttled = verdict_of(kind_of(RetryableError("HTTP 429", status_code=429)))
    assert (refused, unknown, throttled) == ("ok", "", "")
    # Refused by us before anything left: the provider never saw it, so no verdict at all.
    assert verdict_of(kind_of(InvalidBatchError("sem template"))) == ""
    assert verdict_of(kind_of(RejectedError("envio recusado pelo disparo"))) == ""
    # A gateway that gave up waiting: the provider may have the batch, so no verdict either.
    gateway = OutcomeUnknownError("HTTP 504 (um gateway desistiu)", status_code=504)
    assert (kind_of(gateway), verdict_of(kind_of(gateway))) == ("timeout", "")
    assert verdict_of(kind_of(RetryableError("não foi possível conectar"))) == "connection"
    assert verdict_of(kind_of(RetryableError("HTTP 503", status_code=503))) == "5xx"
    for verdict in (refused, unknown, throttled) * 10:
        assert await one.record(ACCOUNT, POLICY, verdict) == "closed"


async def test_one_probe_at_a_time_after_the_cool_down_and_its_success_closes_it(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, two = breakers
    await _open(one)
    clock.now += 30
    probe = await one.admit(ACCOUNT, POLICY)
    other = await two.admit(ACCOUNT, POLICY)
    assert probe.probe and probe.wait == 0 and probe.token
    assert not other.probe and other.wait > 0  # the probe's lock holds the others back
    assert other.wait <= POLICY.breaker_cooldown  # ... a cool-down, not the lock's whole TTL

    assert await one.record(ACCOUNT, POLICY, "ok", probe.token) == "closed"
    assert (await two.admit(ACCOUNT, POLICY)).wait == 0
    assert await two.stopped_accounts() == []
    # The window that opened it is forgotten: one new failure does not reopen it.
    assert await two.record(ACCOUNT, POLICY, "connection") == "closed"


async def test_a_failed_probe_reopens_it_for_another_cool_down(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, two = breakers
    await _open(one)
    clock.now += 31
    probe = await one.admit(ACCOUNT, POLICY)
    assert await one.record(ACCOUNT, POLICY, "connection", probe.token) == "open"
    assert (await two.admit(ACCOUNT, POLICY)).wait == pytest.approx(30, abs=0.01)
    state = await two.read(ACCOUNT)
    assert state.probes == 1 and "1 probe(s) failed" in state.summary
    clock.now += 30
    assert (await two.admit(ACCOUNT, POLICY)).probe


async def test_a_probe_that_sent_nothing_lets_the_next_one_go(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, two = breakers
    await _open(one)
    clock.now += 30
    probe = await one.admit(ACCOUNT, POLICY)
    await two.release(ACCOUNT, "someone-else's-token")  # never frees another's probe
    assert not (await two.admit(ACCOUNT, POLICY)).probe
    await one.release(ACCOUNT, probe.token)
    assert (await two.admit(ACCOUNT, POLICY)).probe


async def test_held_stays_held_until_resumed(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, two = breakers
    await one.hold(ACCOUNT, "ops")
    clock.now += 86_400
    for _ in range(5):
        await two.record(ACCOUNT, POLICY, "ok")  # requests in flight do not end a hold
    admission = await two.admit(ACCOUNT, POLICY)
    assert admission.held and admission.wait > 0
    assert (await two.read(ACCOUNT)).summary.startswith("CDA account CDA:abc held since")
    assert "by ops" in (await two.read(ACCOUNT)).summary
    assert await two.stopped_accounts() == [ACCOUNT]

    await two.resume(ACCOUNT)
    assert (await one.admit(ACCOUNT, POLICY)).wait == 0
    assert (await one.read(ACCOUNT)).state == "closed"


async def test_window_zero_disables_it(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: Clock
) -> None:
    one, _ = breakers
    off = ProviderPolicy(breaker_window=0)
    for _ in range(30):
        assert await one.record(ACCOUNT, off, "connection") == "closed"
    assert (await one.admit(ACCOUNT, off)).wait == 0
