"""SalesforceProvider against the Salesforce simulator on loopback: the OAuth tokens as
httpx.Auth (fetched once, reused, refreshed once on 401, never shown), per-record results,
and the Marketing Cloud run with its rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError

from disparo.errors import CredentialsError
from disparo.providers.base import (
    BatchRequest,
    OutcomeUnknownError,
    Recipient,
    RejectedError,
    RetryableError,
)
from disparo.providers.salesforce import SalesforceSettings
from disparo.providers.salesforce.adapter import (
    MarketingCloudCredentials,
    SalesforceCredentials,
    SalesforceProvider,
)
from disparo.providers.salesforce.simulator import (
    AUTOMATIONS_PATH,
    MC_TOKEN_PATH,
    TOKEN_PATH,
    SalesforceSimulator,
)
from disparo.providers.steps import StepRequest
from tests.support import SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001", "Olá"
)  # fmt: skip
DOIS = UM._replace(id=2, phone="5521900000002", name="CLIENTE EXEMPLO DOIS")
BATCH = BatchRequest("S20250115093000", "1001", 0, [UM, DOIS])
STEP = StepRequest("S20250115093000", "1001", None, None)
RATE_LIMITED = {"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 0.2}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    async with serve_swappable(SalesforceSimulator().app) as swappable:
        yield swappable


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def sim(current: SwappableApp) -> SalesforceSimulator:
    return current.swap(SalesforceSimulator())


@pytest.fixture
def raw(current: SwappableApp, sim: SalesforceSimulator) -> dict[str, str]:
    account = sim.account
    return {
        "client_id": account.client_id,
        "client_secret": account.client_secret,
        "username": account.username,
        "password": account.password,
        "token_url": current.url + TOKEN_PATH,
        "api_url": "",
        "operacao": "OPERACAO_EXEMPLO",
        "automation_id": "auto-exemplo-1",
        "mkc_client_id": account.mc_client_id,
        "mkc_client_secret": account.mc_client_secret,
        "mkc_token_url": current.url + MC_TOKEN_PATH,
        "mkc_api_url": current.url + AUTOMATIONS_PATH,
    }


def provider(**overrides: Any) -> SalesforceProvider:
    values: dict[str, Any] = {"batch_size": 200, "timeout": 5.0, "max_attempts": 3}
    return SalesforceProvider(**(values | overrides))


async def no_fetch(path: str) -> Mapping[str, Any]:
    raise AssertionError(f"unexpected fetch of {path}")


async def test_credentials_missing_fields_and_mc_aliases(raw: dict[str, str]) -> None:
    with pytest.raises(CredentialsError) as caught:
        provider().parse_credentials(
            {k: v for k, v in raw.items() if k != "operacao"} | {"automation_id": ""}
        )
    assert caught.value.missing == ["operacao", "automation_id"]
    mc = {k.replace("mkc_", "mc_"): v for k, v in raw.items()}
    creds = provider().parse_credentials(mc)
    assert creds.mkc is not None and creds.mkc.client_id == raw["mkc_client_id"]
    no_mc = {k: v for k, v in raw.items() if not k.startswith("mkc_")}
    assert provider().parse_credentials(no_mc).mkc is None


async def test_secrets_never_show(raw: dict[str, str]) -> None:
    creds = provider().parse_credentials(raw)
    shown = repr(creds)
    for secret in ("client_secret", "password", "mkc_client_secret"):
        assert raw[secret] not in shown


async def test_token_is_fetched_once_and_reused(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sf = provider()
    creds = sf.parse_credentials(raw)
    # Three batches at once still ask for one token.
    await asyncio.gather(*(sf.send(client, creds, BATCH) for _ in range(3)))
    await sf.send(client, creds, BATCH)
    assert len(sim.requests_to("token")) == 1
    assert len(sim.requests_to("sobjects")) == 4


async def test_401_refreshes_the_token_once(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sf = provider()
    creds = sf.parse_credentials(raw)
    await sf.send(client, creds, BATCH)
    sim.expire_tokens()
    result = await sf.send(client, creds, BATCH)
    assert result.failed_ids == {}
    assert [r.response_status for r in sim.requests_to("sobjects")] == [200, 401, 200]
    assert len(sim.requests_to("token")) == 2
    old, new = (r.response_body["access_token"] for r in sim.requests_to("token"))
    auths = [r.headers["authorization"] for r in sim.requests_to("sobjects")]
    assert auths == [f"Bearer {old}", f"Bearer {old}", f"Bearer {new}"]


async def test_a_second_401_stands(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.fail_next(
        401, count=2, body=[{"message": "x", "errorCode": "INVALID_SESSION_ID"}], route="sobjects"
    )
    with pytest.raises(RejectedError, match="401"):
        await provider().send(client, provider().parse_credentials(raw), BATCH)
    assert len(sim.requests_to("sobjects")) == 2 and len(sim.requests_to("token")) == 2


async def test_per_record_results_set_each_recipient(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.rejected_phones = {DOIS.phone}
    result = await provider().send(client, provider().parse_credentials(raw), BATCH)
    assert result.failed_ids == {2: "DUPLICATES_DETECTED: Contato duplicado"}


@pytest.mark.parametrize(
    ("route", "status", "error"),
    [
        ("token", 503, RetryableError),
        ("token", 502, RetryableError),  # asking for a token changes nothing: safe to repeat
        ("token", 400, RejectedError),
        ("sobjects", 503, RetryableError),
        ("sobjects", 400, RejectedError),
        ("sobjects", 504, OutcomeUnknownError),
    ],
)
async def test_errors_map_to_their_kind(
    sim: SalesforceSimulator,
    client: httpx.AsyncClient,
    raw: dict[str, str],
    route: str,
    status: int,
    error: type[Exception],
) -> None:
    sim.fail_next(status, route=route)
    with pytest.raises(error):
        await provider().send(client, provider().parse_credentials(raw), BATCH)
    assert sim.contacts == []


async def test_token_timeout_is_retryable(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.delay_next(1.0, route="token")
    sf = provider()
    creds = sf.parse_credentials(raw)
    with pytest.raises(RetryableError):
        await asyncio.wait_for(_send_with_token_timeout(sf, client, creds), timeout=5)


async def _send_with_token_timeout(
    sf: SalesforceProvider, client: httpx.AsyncClient, creds: SalesforceCredentials
) -> None:
    from disparo.providers.salesforce.auth import CoreAuth

    auth = CoreAuth(
        client,
        sf.tokens,
        token_url=creds.token_url,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        username=creds.username,
        password=creds.password,
        timeout=0.1,
    )
    await auth.token()


async def test_automation_run_and_token_lifetime(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sf = provider()
    creds = sf.parse_credentials(raw)
    first = await sf.run_step(client, creds, STEP, no_fetch)
    await sf.run_step(client, creds, STEP, no_fetch)
    assert first.startswith("Automação do Marketing Cloud executada com sucesso")
    assert len(sim.requests_to("mc_token")) == 1  # reused for its lifetime
    assert sim.automation_runs == ["auto-exemplo-1"] * 2


async def test_token_near_its_expiry_is_not_used(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.mc_expires_in = 60  # inside the 60 s margin: already too old to use
    sf = provider()
    creds = sf.parse_credentials(raw)
    await sf.run_step(client, creds, STEP, no_fetch)
    await sf.run_step(client, creds, STEP, no_fetch)
    assert len(sim.requests_to("mc_token")) == 2


async def test_rate_limit_is_waited_out(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.fail_next(429, count=2, body=RATE_LIMITED, route="run")  # retryAfter in the body only
    creds = provider().parse_credentials(raw)
    await provider().run_step(client, creds, STEP, no_fetch)
    assert [r.response_status for r in sim.requests_to("run")] == [429, 429, 202]


async def test_rate_limit_beyond_the_waits_is_retryable(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.fail_next(429, count=3, body=RATE_LIMITED, retry_after=0, route="run")
    creds = provider(rate_limit_waits=2).parse_credentials(raw)
    with pytest.raises(RetryableError):
        await provider(rate_limit_waits=2).run_step(client, creds, STEP, no_fetch)
    assert len(sim.requests_to("run")) == 3


async def test_long_rate_limit_goes_back_to_the_queue(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sim.fail_next(429, body=RATE_LIMITED, retry_after=600, route="run")
    creds = provider().parse_credentials(raw)
    with pytest.raises(RetryableError) as caught:
        await provider().run_step(client, creds, STEP, no_fetch)
    assert caught.value.retry_after == 600.0 and len(sim.requests_to("run")) == 1


async def test_marketing_cloud_401_refreshes_once(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    sf = provider()
    creds = sf.parse_credentials(raw)
    await sf.run_step(client, creds, STEP, no_fetch)
    sim.expire_tokens()
    await sf.run_step(client, creds, STEP, no_fetch)
    assert [r.response_status for r in sim.requests_to("run")] == [202, 401, 202]
    assert len(sim.requests_to("mc_token")) == 2


async def test_mkc_route_is_fetched_when_the_block_has_none(
    sim: SalesforceSimulator, client: httpx.AsyncClient, raw: dict[str, str], current: SwappableApp
) -> None:
    asked: list[str] = []

    async def fetch(path: str) -> Mapping[str, Any]:
        asked.append(path)
        return {
            "client_id": sim.account.mc_client_id,
            "client_secret": sim.account.mc_client_secret,
            "token_url": current.url + MC_TOKEN_PATH,
            "api_url": "",  # the token's rest_instance_url completes it
        }

    no_mc = {k: v for k, v in raw.items() if not k.startswith("mkc_")}
    creds = provider().parse_credentials(no_mc)
    await provider().run_step(client, creds, STEP, fetch)
    assert asked == ["mkc"] and sim.automation_runs == ["auto-exemplo-1"]


async def test_mkc_credentials_missing_everywhere(
    client: httpx.AsyncClient, raw: dict[str, str]
) -> None:
    async def fetch(path: str) -> Mapping[str, Any]:
        return {"client_id": "só isso"}

    creds = provider().parse_credentials({k: v for k, v in raw.items() if not k.startswith("mkc_")})
    with pytest.raises(CredentialsError, match="Marketing Cloud"):
        await provider().run_step(client, creds, STEP, fetch)


async def test_marketing_cloud_credentials_hide_the_secret() -> None:
    mc = MarketingCloudCredentials("id", "segredo-mc", "https://x.example.com/v2/token")
    assert "segredo-mc" not in repr(mc)


async def test_batch_size_above_the_api_limit_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="batch_size"):
        SalesforceSettings(batch_size=201, _env_file=None)
    assert provider(batch_size=500).batch_size() == 200
