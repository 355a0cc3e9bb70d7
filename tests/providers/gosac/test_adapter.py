"""GosacProvider against the GOSAC simulator on loopback: create, start, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
import pytest_asyncio

from disparo.errors import CredentialsError
from disparo.providers.base import (
    BatchRequest,
    OutcomeUnknownError,
    Recipient,
    RejectedError,
    RetryableError,
)
from disparo.providers.gosac.adapter import NO_CONTACTS, NO_ID, GosacCredentials, GosacProvider
from disparo.providers.gosac.simulator import CREATE_PATH, GosacSimulator
from disparo.providers.steps import StepRequest
from tests.support import SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "tok_exemplo_gosac"
UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001", "Olá"
)  # fmt: skip
SEM_NOME = UM._replace(id=2, phone="5521900000002", name="")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    async with serve_swappable(GosacSimulator(TOKEN).app) as swappable:
        yield swappable


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def sim(current: SwappableApp) -> GosacSimulator:
    return current.swap(GosacSimulator(TOKEN))


@pytest.fixture
def creds(current: SwappableApp) -> GosacCredentials:
    return GosacCredentials(url=current.url + CREATE_PATH, token=TOKEN)


def provider(timeout: float = 5.0) -> GosacProvider:
    return GosacProvider(batch_size=100, timeout=timeout, start_timeout=timeout, max_attempts=3)


def batch(*recipients: Recipient) -> BatchRequest:
    return BatchRequest("G20250115093000", "1001", 0, list(recipients), campaign_text="Olá")


async def no_fetch(path: str) -> Mapping[str, Any]:
    raise AssertionError("GOSAC needs no other credentials")


def step(reference: str | None, send_response: str | None = None) -> StepRequest:
    return StepRequest("G20250115093000", "1001", reference, send_response)


@pytest.mark.parametrize(
    ("raw", "missing"),
    [({"url": "https://g.example.com/api/campaigns"}, ["token"]), ({"token": "t"}, ["url"])],
)
async def test_incomplete_credentials(raw: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(CredentialsError) as caught:
        provider().parse_credentials(raw)
    assert caught.value.missing == missing


async def test_credentials_never_show_the_token() -> None:
    creds = provider().parse_credentials({"url": "https://g.example.com/api/", "token": "segredo"})
    assert creds.url == "https://g.example.com/api" and "segredo" not in repr(creds)


async def test_send_reports_the_id_and_the_left_out_rows(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    result = await provider().send(client, creds, batch(UM, SEM_NOME))
    assert result.reference == "4321"
    assert list(result.failed_ids) == [2]
    assert sim.campaigns[4321].contacts == [
        {"name": "CLIENTE EXEMPLO UM", "number": "5511900000001", "hasWhatsapp": True}
    ]


async def test_no_valid_contact_sends_nothing(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    with pytest.raises(RejectedError, match=NO_CONTACTS):
        await provider().send(client, creds, batch(SEM_NOME))
    assert sim.requests == []


async def test_created_without_an_id_is_a_final_failure(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    sim.id_shape = "none"
    with pytest.raises(RejectedError, match=NO_ID):
        await provider().send(client, creds, batch(UM))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, RejectedError),
        (503, RetryableError),
        (429, RetryableError),
        (504, OutcomeUnknownError),
    ],
)
async def test_create_errors_map_to_their_kind(
    sim: GosacSimulator,
    client: httpx.AsyncClient,
    creds: GosacCredentials,
    status: int,
    error: type[Exception],
) -> None:
    sim.fail_next(status, route="create", retry_after=3 if status == 429 else None)
    with pytest.raises(error) as caught:
        await provider().send(client, creds, batch(UM))
    if status == 429:
        assert isinstance(caught.value, RetryableError) and caught.value.retry_after == 3.0


async def test_create_timeout_is_an_unknown_outcome(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    sim.delay_next(0.5, route="create")
    with pytest.raises(OutcomeUnknownError):
        await provider(timeout=0.1).send(client, creds, batch(UM))


async def test_start_and_start_again(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    await provider().send(client, creds, batch(UM))
    first = await provider().run_step(client, creds, step("4321"), no_fetch)
    again = await provider().run_step(client, creds, step("4321"), no_fetch)
    assert '"status":"started"' in first
    assert again.startswith("Campanha já iniciada (HTTP 400)")
    assert [(r.method, r.json) for r in sim.requests_to("start")] == [("PUT", {}), ("PUT", {})]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"message": "Unauthorized"}, RejectedError),
        (404, {"message": "Campaign not found"}, RejectedError),
        (400, {"message": "cannot start campaign"}, RejectedError),
        (503, {"message": "down"}, RetryableError),
    ],
)
async def test_start_failures(
    sim: GosacSimulator,
    client: httpx.AsyncClient,
    creds: GosacCredentials,
    status: int,
    body: dict[str, str],
    error: type[Exception],
) -> None:
    sim.fail_next(status, body=body, route="start")
    with pytest.raises(error):
        await provider().run_step(client, creds, step("4321"), no_fetch)


async def test_409_is_already_started(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    sim.fail_next(409, body={"message": "Conflict"}, route="start")
    answer = await provider().run_step(client, creds, step("4321"), no_fetch)
    assert answer.startswith("Campanha já iniciada (HTTP 409)")


async def test_creation_reporting_started_skips_the_request(
    sim: GosacSimulator, client: httpx.AsyncClient, creds: GosacCredentials
) -> None:
    answer = await provider().run_step(
        client, creds, step("4321", '{"id": 4321, "status": "running"}'), no_fetch
    )
    assert "não enviado" in answer and sim.requests == []
