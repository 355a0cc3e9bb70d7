"""WhatsappOtimaProvider against the Ótima WhatsApp simulator over real HTTP: credentials,
the exact request, per-message failures, and the outcome of every injected fault."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from disparo.errors import CredentialsError
from disparo.http_server import start_server
from disparo.providers.base import (
    BatchRequest,
    InvalidBatchError,
    OutcomeUnknownError,
    Recipient,
    RejectedError,
    RetryableError,
)
from disparo.providers.whatsapp_otima.adapter import (
    WhatsappOtimaCredentials,
    WhatsappOtimaProvider,
)
from disparo.providers.whatsapp_otima.simulator import API_PREFIX, WhatsappOtimaSimulator

TOKEN = "tok_exemplo_otima_wpp"
BROKER = "5511999990000"
TEMPLATE = json.dumps({"template_code": "modelo_v1", "customer_code": "77"})


def recipient(i: int, message: str = TEMPLATE) -> Recipient:
    return Recipient(i, f"55119000000{i:02d}", f"CLIENTE {i}", f"{11111111111 + i}", "77",
                     "1001", str(500000 + i), message, None)  # fmt: skip


def batch(*recipients: Recipient) -> BatchRequest:
    return BatchRequest("W20250115093000", "1001", 0, list(recipients), recipients[0].message)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials]]:
    simulator = WhatsappOtimaSimulator(TOKEN)
    async with await start_server(simulator.app) as server:
        yield simulator, WhatsappOtimaCredentials(TOKEN, server.url + API_PREFIX, BROKER)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def provider(timeout: float = 5.0, send_phone: bool = False) -> WhatsappOtimaProvider:
    return WhatsappOtimaProvider(
        batch_size=5000, timeout=timeout, max_attempts=3, send_phone=send_phone
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"token": "  tok  ", "api_url": "https://h/v1/whatsapp/", "broker_code": BROKER},
            WhatsappOtimaCredentials("tok", "https://h/v1/whatsapp", BROKER),
        ),
        (
            {"token": "tok", "customer_code": "77", "template_code": "t"},
            WhatsappOtimaCredentials(
                "tok", "https://services.otima.digital/v1/whatsapp", "", "77", "t"
            ),
        ),
    ],
    ids=["trimmed", "default-url"],
)
def test_credentials(raw: dict[str, str], expected: WhatsappOtimaCredentials) -> None:
    assert provider().parse_credentials(raw) == expected


def test_credentials_need_a_token_and_never_print_it() -> None:
    with pytest.raises(CredentialsError, match="token"):
        provider().parse_credentials({"api_url": "https://h", "broker_code": BROKER})
    assert "segredo" not in repr(provider().parse_credentials({"token": "segredo"}))


def test_a_batch_is_at_most_one_request_of_1000() -> None:
    assert provider().batch_size() == 1000


async def test_the_exact_request(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    result = await provider().send(http, credentials, batch(recipient(1), recipient(2)))

    [request] = simulator.requests
    assert (request.method, request.path) == ("POST", API_PREFIX + "/bulk/message/hsm")
    assert request.headers["authorization"] == TOKEN
    assert request.headers["content-type"] == "application/json"
    assert request.json["broker_code"] == BROKER and request.json["customer_code"] == "77"
    assert request.json["template_code"] == "modelo_v1"
    assert [m["whatsapp"] for m in request.json["messages"]] == ["11900000001", "11900000002"]
    assert all("phone" not in m for m in request.json["messages"])
    assert request.response_status == 200
    assert result.failed_ids == {} and '"status":"SENT"' in result.response_text
    assert len(simulator.delivered) == 2


async def test_gen_b_accounts_also_get_phone(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    await provider(send_phone=True).send(http, credentials, batch(recipient(1)))
    assert simulator.requests[0].json["messages"][0]["phone"] == "11900000001"


async def test_numbers_without_whatsapp_fail_one_by_one(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    simulator.without_whatsapp.add("11900000002")
    result = await provider().send(http, credentials, batch(recipient(1), recipient(2)))
    assert result.failed_ids == {2: "Ótima: Número sem WhatsApp"}
    assert [m["whatsapp"] for m in simulator.delivered] == ["11900000001"]


async def test_a_bad_broker_code_is_a_credentials_error_and_nothing_is_sent(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    short = WhatsappOtimaCredentials(TOKEN, credentials.api_url, "12345")
    with pytest.raises(CredentialsError, match="broker_code"):
        await provider().send(http, short, batch(recipient(1)))
    assert simulator.requests == []


async def test_no_template_refuses_the_batch_before_sending(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    with pytest.raises(InvalidBatchError, match="template_code"):
        await provider().send(http, credentials, batch(recipient(1, "Olá, texto livre")))
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RejectedError),
        (401, RejectedError),
        (429, RetryableError),
        (503, RetryableError),
        (504, OutcomeUnknownError),
    ],
)
async def test_injected_faults(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials],
    http: httpx.AsyncClient,
    status: int,
    error: type[Exception],
) -> None:
    simulator, credentials = sim
    simulator.fail_next(status)
    with pytest.raises(error):
        await provider().send(http, credentials, batch(recipient(1)))
    assert simulator.delivered == []


async def test_a_wrong_token_is_refused(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    _, credentials = sim
    wrong = WhatsappOtimaCredentials("outro", credentials.api_url, BROKER)
    with pytest.raises(RejectedError, match="401"):
        await provider().send(http, wrong, batch(recipient(1)))


async def test_a_read_timeout_after_sending_is_unknown(
    sim: tuple[WhatsappOtimaSimulator, WhatsappOtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    simulator.delay_next(1.0)
    with pytest.raises(OutcomeUnknownError):
        await provider(timeout=0.3).send(http, credentials, batch(recipient(1)))
