"""The README's retry table, one test per row: each failure kind is produced by a real server
on loopback (the CDA simulator, a closed port, a TLS mismatch, a server answering garbage)
and one send attempt must end the way the table says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from disparo.campaigns.models import BatchStatus, ProviderBatch
from disparo.campaigns.sending import run_send
from disparo.db.base import utcnow
from disparo.devstack import DevStack
from disparo.providers.cda.dev import DEV_CDA_KEY
from disparo.providers.cda.simulator import IMPORT_PATH
from disparo.providers.policy import account_id, policy_for
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, campaign_rows, ingested_campaign

pytestmark = pytest.mark.e2e

# Backoff of the first retry: 10 s × a jitter factor in [0.5, 1].
POLICY = {"CDA": {"base_delay": 10.0, "max_delay": 60.0, "jitter": 0.5, "max_attempts": 3}}


async def _one_attempt(
    stack_factory: StackFactory,
    *,
    api_url: str | None = None,
    fail: int | None = None,
    retry_after: int | None = None,
    delay: float = 0.0,
    **overrides: object,
) -> tuple[DevStack, ProviderBatch]:
    """One send attempt of a fresh two-recipient campaign, with the fault given."""
    overrides.setdefault("provider_policies", POLICY)
    stack, campaign_id = await ingested_campaign(stack_factory, count=2, **overrides)
    if api_url is not None:
        stack.wordpress.set_credentials("cda", {"api_url": api_url, "api_key": "chave-dev-cda"})
    if fail is not None:
        stack.cda.fail_next(fail, retry_after=retry_after)
    if delay:
        stack.cda.delay_next(delay)
    await run_send(stack.runtime, campaign_id, 0)
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    return stack, batches[0]


def _retried(batch: ProviderBatch, low: float = 5.0, high: float = 10.0) -> None:
    """Back to PENDING, due after the first backoff step, with its attempt spent."""
    assert batch.status == BatchStatus.PENDING, batch.last_error
    assert batch.attempts == 1 and batch.due_at is not None
    wait = (batch.due_at - utcnow()).total_seconds()
    assert low - 1.0 <= wait <= high, wait


async def _paused_for(stack: DevStack) -> float:
    provider = stack.runtime.providers["CDA"]
    credentials = provider.parse_credentials(
        {
            "api_url": stack.simulators["CDA"].server.url + IMPORT_PATH,
            "api_key": DEV_CDA_KEY,
        }
    )
    account = account_id(provider, credentials)
    return await stack.runtime.limiter.wait_time(
        account, policy_for(stack.settings, provider), recipients=0
    )


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """Reads the request, answers bytes that are not HTTP, closes."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"not http at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}{IMPORT_PATH}"
    server.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_connection_refused_is_retried(stack_factory: StackFactory, closed_port: int) -> None:
    _, batch = await _one_attempt(stack_factory, api_url=f"http://127.0.0.1:{closed_port}/x")
    _retried(batch)
    assert "não foi possível conectar" in (batch.last_error or "")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_dns_failure_is_retried(stack_factory: StackFactory) -> None:
    _, batch = await _one_attempt(stack_factory, api_url="http://no-such-host.invalid/x")
    _retried(batch)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_tls_failure_is_retried(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)  # for the simulator's plain-HTTP port
    tls_url = stack.simulators["CDA"].server.url.replace("http://", "https://") + IMPORT_PATH
    _, batch = await _one_attempt(stack_factory, api_url=tls_url)
    _retried(batch)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("status", [500, 503, 408])
async def test_5xx_and_408_are_retried(stack_factory: StackFactory, status: int) -> None:
    stack, batch = await _one_attempt(stack_factory, fail=status)
    _retried(batch)
    assert f"HTTP {status}" in (batch.last_error or "")
    assert await _paused_for(stack) == 0  # no Retry-After: the account is not held


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_429_with_retry_after_waits_it_and_pauses_the_account(
    stack_factory: StackFactory,
) -> None:
    stack, batch = await _one_attempt(stack_factory, fail=429, retry_after=30)
    _retried(batch, low=30, high=30.5)
    assert 25 < await _paused_for(stack) <= 30


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_429_without_retry_after_backs_off(stack_factory: StackFactory) -> None:
    stack, batch = await _one_attempt(stack_factory, fail=429)
    _retried(batch)
    assert await _paused_for(stack) == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_other_4xx_fail_without_retry(stack_factory: StackFactory, status: int) -> None:
    _, batch = await _one_attempt(stack_factory, fail=status)
    assert batch.status == BatchStatus.FAILED and batch.attempts == 1
    assert batch.dead_lettered_at is None  # rejected, not exhausted


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("status", [502, 504])
async def test_gateway_timeouts_are_unknown(stack_factory: StackFactory, status: int) -> None:
    _, batch = await _one_attempt(stack_factory, fail=status)
    assert batch.status == BatchStatus.UNKNOWN


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_read_timeout_after_the_body_was_sent_is_unknown(
    stack_factory: StackFactory,
) -> None:
    stack, batch = await _one_attempt(stack_factory, cda_timeout=0.3, delay=1.0)
    assert batch.status == BatchStatus.UNKNOWN
    assert "ReadTimeout" in (batch.last_error or "")
    assert len(stack.cda.requests) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_read_timeout_is_retried_for_a_provider_that_deduplicates(
    stack_factory: StackFactory,
) -> None:
    dedupe = {"CDA": {**POLICY["CDA"], "deduplicates": True}}
    _, batch = await _one_attempt(
        stack_factory, cda_timeout=0.3, delay=1.0, provider_policies=dedupe
    )
    _retried(batch)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_an_invalid_provider_response_is_unknown(
    stack_factory: StackFactory, garbage_server: str
) -> None:
    _, batch = await _one_attempt(stack_factory, api_url=garbage_server)
    assert batch.status == BatchStatus.UNKNOWN
    assert "RemoteProtocolError" in (batch.last_error or "")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_attempt_limit_makes_a_dead_letter(stack_factory: StackFactory) -> None:
    stack, campaign_id = await ingested_campaign(
        stack_factory, count=2, provider_policies={"CDA": {"max_attempts": 2, "base_delay": 0}}
    )
    stack.cda.fail_next(500, count=2)
    for _ in range(2):
        await run_send(stack.runtime, campaign_id, 0)
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert batches[0].status == BatchStatus.FAILED and batches[0].attempts == 2
    assert batches[0].dead_lettered_at is not None
    assert len(stack.cda.requests) == 2
    assert utcnow() - batches[0].dead_lettered_at < timedelta(seconds=30)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_paused_account_defers_other_batches_without_claiming(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=2, rate_limit_max_wait=5)
    provider = stack.runtime.providers["CDA"]
    credentials = provider.parse_credentials(
        {
            "api_url": stack.simulators["CDA"].server.url + IMPORT_PATH,
            "api_key": DEV_CDA_KEY,
        }
    )
    await stack.runtime.limiter.pause(account_id(provider, credentials), 60)

    await run_send(stack.runtime, campaign_id, 0)

    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert (batches[0].status, batches[0].attempts) == (BatchStatus.PENDING, 0)
    assert batches[0].due_at is not None
    assert 55 < (batches[0].due_at - utcnow()).total_seconds() <= 60
    assert stack.cda.requests == []
