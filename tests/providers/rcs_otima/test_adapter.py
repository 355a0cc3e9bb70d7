"""OtimaProvider against the Ótima RCS simulator over real HTTP: credentials, grouping,
the exact requests, the provider's own SMS fallback, partial batches and injected faults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from disparo.errors import CredentialsError
from disparo.http_server import start_server
from disparo.providers.base import (
    BatchRequest,
    OutcomeUnknownError,
    Recipient,
    RejectedError,
    RetryableError,
)
from disparo.providers.rcs_otima.adapter import NOT_RCS, OtimaCredentials, OtimaProvider
from disparo.providers.rcs_otima.simulator import API_PREFIX, OtimaSimulator
from disparo.providers.rcs_otima.wire import DEFAULT_API_URL

TOKEN = "tok_exemplo_otima"


def template(customer: str = "77", **fields: Any) -> str:
    return json.dumps({"template_code": "modelo_v1", "customer_code": customer, **fields})


def recipient(i: int, message: str, carteira: str = "77") -> Recipient:
    return Recipient(i, f"55119000000{i:02d}", f"CLIENTE {i}", f"{11111111111 + i}", carteira,
                     "1001", str(500000 + i), message, None)  # fmt: skip


def batch(*recipients: Recipient) -> BatchRequest:
    return BatchRequest("O20250115093000", "1001", 0, list(recipients), recipients[0].message)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[OtimaSimulator, OtimaCredentials]]:
    simulator = OtimaSimulator(TOKEN)
    async with await start_server(simulator.app) as server:
        yield simulator, OtimaCredentials(TOKEN, server.url + API_PREFIX, "broker_x")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def provider(timeout: float = 5.0, callbacks: tuple[str, str] = ("", "")) -> OtimaProvider:
    return OtimaProvider(batch_size=1000, timeout=timeout, max_attempts=3, callbacks=callbacks)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"token": TOKEN, "api_url": "https://o.example.com/v1/rcs/"},
         OtimaCredentials(TOKEN, "https://o.example.com/v1/rcs")),
        ({"token": TOKEN}, OtimaCredentials(TOKEN, DEFAULT_API_URL)),
        ({"authorization": TOKEN, "broker_code": "b", "customer_code": "9"},
         OtimaCredentials(TOKEN, DEFAULT_API_URL, "b", "9")),
    ],
)  # fmt: skip
def test_credentials(raw: dict[str, Any], expected: OtimaCredentials) -> None:
    parsed = provider().parse_credentials(raw)
    assert parsed == expected and TOKEN not in repr(parsed)


def test_batches_never_exceed_the_1000_messages_of_one_request() -> None:
    assert OtimaProvider(batch_size=5000, timeout=1, max_attempts=1).batch_size() == 1000
    assert OtimaProvider(batch_size=10, timeout=1, max_attempts=1).batch_size() == 10


def test_missing_token_is_a_credentials_error() -> None:
    with pytest.raises(CredentialsError) as caught:
        provider().parse_credentials({"token": "", "api_url": DEFAULT_API_URL})
    assert caught.value.missing == ["token"]


@pytest.mark.parametrize(
    ("row", "default", "group"),
    [
        ({"mensagem": template("55"), "id_carteira": "77"}, "", "55"),
        ({"mensagem": "texto", "id_carteira": "77"}, "", "77"),
        ({"mensagem": "texto", "id_carteira": ""}, "99", "99"),
        ({"mensagem": "texto", "id_carteira": ""}, "", None),
        ({"mensagem": None, "id_carteira": 12}, "", "12"),
    ],
)
def test_recipient_group(row: dict[str, Any], default: str, group: str | None) -> None:
    credentials = OtimaCredentials(TOKEN, DEFAULT_API_URL, customer_code=default)
    assert provider().recipient_group(row, credentials) == group


async def test_template_send_with_fallback_and_not_rcs_handsets(
    sim: tuple[OtimaSimulator, OtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    rcs = recipient(1, template())
    own_fallback = recipient(2, template(fallback="Proposta por SMS"))
    unreachable = recipient(3, template())
    simulator.not_rcs_capable |= {own_fallback.phone, unreachable.phone}

    result = await provider(callbacks=("https://d.example.com/s", "")).send(
        http, credentials, batch(rcs, own_fallback, unreachable)
    )

    [request] = simulator.requests
    assert request.path == "/v1/rcs/bulk/message/template"
    assert request.headers["authorization"] == TOKEN  # raw, no scheme
    body = request.json
    assert (body["broker_code"], body["customer_code"], body["template_code"]) == (
        "broker_x", "77", "modelo_v1",
    )  # fmt: skip
    assert [m["phone"] for m in body["messages"]] == [
        rcs.phone,
        own_fallback.phone,
        unreachable.phone,
    ]
    assert body["messages"][1]["fallback"] == {"type": "SMS", "message": "Proposta por SMS"}
    assert "fallback" not in body["messages"][0]
    assert {m["url_callback_status"] for m in body["messages"]} == {"https://d.example.com/s"}
    assert result.sms_fallback_ids == {own_fallback.id}
    assert result.unreachable_ids == {unreachable.id: NOT_RCS}
    assert simulator.deliveries == {rcs.phone: ["RCS"], own_fallback.phone: ["SMS"]}


async def test_groups_go_in_separate_requests_and_a_later_failure_fails_only_its_rows(
    sim: tuple[OtimaSimulator, OtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    first, second = recipient(1, "Olá", "77"), recipient(2, "Olá", "78")
    simulator.fail_next(503, after=1)

    result = await provider().send(http, credentials, batch(first, second))

    assert [r.json["customer_code"] for r in simulator.requests] == ["77", "78"]
    assert [r.path for r in simulator.requests] == ["/v1/rcs/bulk/message/text"] * 2
    assert result.failed_ids == {second.id: "não enviado: HTTP 503: " + json.dumps(
        {"success": False, "message": "Falha simulada"}, separators=(",", ":"))}  # fmt: skip
    assert simulator.deliveries == {first.phone: ["RCS"]}


async def test_an_empty_template_variable_sends_nothing(
    sim: tuple[OtimaSimulator, OtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    row = recipient(1, template(variables_map={"v": {"type": "field", "value": "nope"}}))
    with pytest.raises(RejectedError, match="variável 'v'"):
        await provider().send(http, credentials, batch(row))
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("status", "retry_after", "error", "expected_after"),
    [
        (503, None, RetryableError, None),
        (429, 30, RetryableError, 30.0),
        (502, None, OutcomeUnknownError, None),
        (400, None, RejectedError, None),
    ],
)
async def test_injected_faults(
    sim: tuple[OtimaSimulator, OtimaCredentials],
    http: httpx.AsyncClient,
    status: int,
    retry_after: int | None,
    error: type[Exception],
    expected_after: float | None,
) -> None:
    simulator, credentials = sim
    simulator.fail_next(status, retry_after=retry_after)
    with pytest.raises(error) as caught:
        await provider().send(http, credentials, batch(recipient(1, template())))
    assert getattr(caught.value, "retry_after", None) == expected_after
    assert simulator.deliveries == {}


async def test_slow_answer_past_the_timeout_is_an_unknown_outcome(
    sim: tuple[OtimaSimulator, OtimaCredentials], http: httpx.AsyncClient
) -> None:
    simulator, credentials = sim
    simulator.delay_next(1.0)
    with pytest.raises(OutcomeUnknownError):
        await provider(timeout=0.3).send(http, credentials, batch(recipient(1, "Olá")))


def _template(**change: Any) -> dict[str, Any]:
    message = {"phone": "5511900000001", "document": "111", "variables": {"-v-": "x"},
               "extra_fields": {"nome": "A"}}  # fmt: skip
    return {"template_code": "t", "messages": [message | change]}


def _text(**change: Any) -> dict[str, Any]:
    message = {"phone": "5511900000001", "document": "", "message": "oi"}
    return {"messages": [message | change]}


def _document(file_type: str) -> dict[str, Any]:
    return _text(file_url="https://x.example.com/a", file_type=file_type, file_name="a")


SMS_161 = {"type": "SMS", "message": "x" * 161}
THOUSAND_AND_ONE = {"template_code": "t", "messages": _template()["messages"] * 1001}


@pytest.mark.parametrize(
    ("path", "body", "status", "problem"),
    [
        ("template", _template(), 200, None),
        ("template", {"messages": _template()["messages"]}, 400, "template_code"),
        ("template", _template(phone="11900000001"), 400, "phone"),
        ("template", _template(document="111.1"), 400, "document"),
        ("template", _template(variables={"-v-": ""}), 400, "vazio"),
        ("template", _template(fallback=SMS_161), 400, "fallback"),
        ("template", _template(url_callback_status="x"), 400, "url_callback_status"),
        ("template", THOUSAND_AND_ONE, 400, "Maximum of 1000"),
        ("text", _text(), 200, None),
        ("text", _text(fallback={}), 400, "desconhecidos"),  # exactly the contract's fields
        ("text", _text() | {"template_code": "t"}, 400, "template_code"),
        ("document", _document("application/pdf"), 200, None),
        ("document", _document("application/x-exe"), 400, "file_type"),
    ],
)
async def test_simulator_checks_the_payload(
    sim: tuple[OtimaSimulator, OtimaCredentials],
    http: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    status: int,
    problem: str | None,
) -> None:
    _, credentials = sim
    full = {"broker_code": "b", "customer_code": "77"} | body
    response = await http.post(
        f"{credentials.api_url}/bulk/message/{path}", json=full, headers={"Authorization": TOKEN}
    )
    assert response.status_code == status, response.text
    if problem is not None:
        assert problem in response.json()["message"] and response.json()["success"] is False


async def test_simulator_refuses_a_wrong_or_schemed_token(
    sim: tuple[OtimaSimulator, OtimaCredentials], http: httpx.AsyncClient
) -> None:
    _, credentials = sim
    url = f"{credentials.api_url}/bulk/message/text"
    for header in ("Bearer " + TOKEN, "outro", None):
        headers = {"authorization": header} if header else {}
        response = await http.post(url, json={}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"success": False, "message": "Unauthorized"}
