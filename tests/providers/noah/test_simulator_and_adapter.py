"""The NOAH simulator over real HTTP on loopback, and NoahProvider against it."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
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
from disparo.providers.noah.adapter import NoahCredentials, NoahProvider
from disparo.providers.noah.simulator import BASE_PATH, NoahSimulator
from tests.support import NOAH_EXAMPLE_BODY, SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "tok_exemplo_noah"
AUTH = {"Authorization": f"INTEGRATION {TOKEN}"}
CONTACTS = BASE_PATH + "/contacts"
GOOD = NOAH_EXAMPLE_BODY
UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001", "Olá",
    {"data_cadastro": "2025-01-15 09:30:00"},
)  # fmt: skip


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    async with serve_swappable(NoahSimulator(TOKEN).app) as swappable:
        yield swappable


@pytest.fixture
def sim(current: SwappableApp) -> NoahSimulator:
    return current.swap(NoahSimulator(TOKEN))


@pytest.fixture
def creds(current: SwappableApp) -> NoahCredentials:
    return NoahCredentials(url=current.url + BASE_PATH, token=TOKEN)


def provider(timeout: float = 5.0) -> NoahProvider:
    return NoahProvider(batch_size=100, timeout=timeout, max_attempts=3)


BATCH = BatchRequest("N20250115093000", "1001", 0, [UM])


async def test_import_answers_like_the_contract(
    sim: NoahSimulator, client: httpx.AsyncClient
) -> None:
    response = await client.post(CONTACTS, json=GOOD, headers=AUTH)
    assert (response.status_code, response.json()) == (
        201,
        {"success": True, "imported": 1, "name": "campanha_1736944200000"},
    )
    assert sim.imports[0].data == GOOD["data"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": TOKEN}, {"Authorization": f"Bearer {TOKEN}"}]
)
async def test_bad_token(
    sim: NoahSimulator, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(CONTACTS, json=GOOD, headers=headers)
    assert (response.status_code, response.json()) == (
        401,
        {"message": "Invalid integration token"},
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": []}, "data must be a non-empty array"),
        ({"name": "N2025"}, "name must be campanha_<epoch ms>"),
        ({"data": [{"telefone": "5511900000001"}]}, "data[0] must have exactly"),
        ({"data": [dict(GOOD["data"][0], CPF_CNPJ="1")]}, "data[0] must have exactly"),
    ],
)
async def test_invalid_bodies(
    sim: NoahSimulator, client: httpx.AsyncClient, change: dict[str, Any], message: str
) -> None:
    body = copy.deepcopy(GOOD) | change
    response = await client.post(CONTACTS, json=body, headers=AUTH)
    assert response.status_code == 400 and response.json()["message"].startswith(message)
    assert sim.imports == []


async def test_send_posts_the_mapped_body(
    sim: NoahSimulator, client: httpx.AsyncClient, creds: NoahCredentials
) -> None:
    result = await provider().send(client, creds, BATCH)
    [request] = sim.requests
    assert request.path == CONTACTS and request.headers["authorization"] == AUTH["Authorization"]
    assert request.json["data"][0] == dict(GOOD["data"][0], mensagem="Olá")
    assert '"imported":1' in result.response_text and result.reference == request.json["name"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RejectedError),
        (401, RejectedError),
        (429, RetryableError),
        (500, RetryableError),
        (503, RetryableError),
        (502, OutcomeUnknownError),
    ],
)
async def test_faults_map_to_their_kind(
    sim: NoahSimulator,
    client: httpx.AsyncClient,
    creds: NoahCredentials,
    status: int,
    error: type[Exception],
) -> None:
    sim.fail_next(status, retry_after=2)
    with pytest.raises(error) as caught:
        await provider().send(client, creds, BATCH)
    assert sim.imports == []
    if isinstance(caught.value, RetryableError):
        assert caught.value.retry_after == 2.0


async def test_slow_answer_is_an_unknown_outcome(
    sim: NoahSimulator, client: httpx.AsyncClient, creds: NoahCredentials
) -> None:
    sim.delay_next(0.5)
    with pytest.raises(OutcomeUnknownError):
        await provider(timeout=0.1).send(client, creds, BATCH)


async def test_connection_refused_is_retryable(client: httpx.AsyncClient) -> None:
    creds = NoahCredentials(url="http://127.0.0.1:9/api", token=TOKEN)
    with pytest.raises(RetryableError):
        await provider().send(client, creds, BATCH)


async def test_credentials() -> None:
    creds = provider().parse_credentials({"url": "https://noah.example.com/api/", "token": "s3"})
    assert creds.url == "https://noah.example.com/api" and "s3" not in repr(creds)
    with pytest.raises(CredentialsError, match="token"):
        provider().parse_credentials({"url": "https://noah.example.com"})
