"""CdaProvider: credential parsing and the HTTP translation of `send` (httpx.MockTransport).

A test against the real CDA simulator lives elsewhere; this one pins the wire body and the
mapping of every response/transport outcome onto the provider error types.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import disparo.providers.cda.adapter as adapter_module
from disparo.errors import CredentialsError
from disparo.providers.base import (
    BatchRequest,
    OutcomeUnknownError,
    Recipient,
    RejectedError,
    RetryableError,
    SendResult,
)
from disparo.providers.cda.adapter import CdaCredentials, CdaProvider
from disparo.providers.http import parse_retry_after
from tests.support import CDA_EXAMPLE_BODY

API_URL = "https://cda.example.com/api/importar/campanha"
API_KEY = "chave-exemplo-cda"
NOW_S = 1736944200.0

UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001",
    "Olá, temos uma proposta para o seu contrato.",
)  # fmt: skip
DOIS = Recipient(
    2, "5521900000002", "CLIENTE EXEMPLO DOIS", "22222222222", "77", "1001", "500002",
    "Olá, temos uma proposta para o seu contrato.",
)  # fmt: skip
BATCH = BatchRequest(agendamento_id="C20250115093000", env_id="1001", sequence=0,
                     recipients=[UM, DOIS])  # fmt: skip
CREDS = CdaCredentials(api_url=API_URL, api_key=API_KEY)


def _provider() -> CdaProvider:
    return CdaProvider(batch_size=500, timeout=5.0, max_attempts=3)


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the adapter's view of `time`; nothing else in the process is affected.
    monkeypatch.setattr(adapter_module, "time", SimpleNamespace(time=lambda: NOW_S))


# ------------------------------------------------------------------ construction


def test_provider_attributes() -> None:
    provider = CdaProvider(batch_size=250, timeout=30.0, max_attempts=4)
    assert provider.code == "CDA"
    assert provider.credentials_path == "cda"
    assert provider.batch_size() == 250
    assert provider.max_attempts == 4


# ------------------------------------------------------------------ parse_credentials


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"api_url": API_URL, "api_key": API_KEY}, CREDS),
        ({"api_url": f"  {API_URL} ", "api_key": f" {API_KEY}\n"}, CREDS),
        ({"url": API_URL, "api_key": API_KEY}, CREDS),
        ({"api_url": API_URL, "url": "https://other.example.com", "api_key": API_KEY}, CREDS),
        ({"api_url": "", "url": API_URL, "api_key": API_KEY}, CREDS),
        ({"api_url": API_URL, "api_key": API_KEY, "extra": "ignored"}, CREDS),
    ],
    ids=[
        "both-present",
        "whitespace-trimmed",
        "url-alias",
        "api_url-wins-over-url",
        "empty-api_url-falls-back-to-url",
        "unknown-field-ignored",
    ],
)
def test_parse_credentials_ok(raw: dict[str, Any], expected: CdaCredentials) -> None:
    assert _provider().parse_credentials(raw) == expected


@pytest.mark.parametrize(
    ("raw", "missing"),
    [
        ({}, ["api_url", "api_key"]),
        ({"api_key": API_KEY}, ["api_url"]),
        ({"api_url": API_URL}, ["api_key"]),
        ({"api_url": "", "api_key": API_KEY}, ["api_url"]),
        ({"api_url": "   ", "api_key": API_KEY}, ["api_url"]),
        ({"api_url": API_URL, "api_key": ""}, ["api_key"]),
        ({"api_url": API_URL, "api_key": " \t"}, ["api_key"]),
        ({"api_url": None, "api_key": None}, ["api_url", "api_key"]),
        ({"url": "", "api_key": ""}, ["api_url", "api_key"]),
    ],
    ids=[
        "empty-object",
        "missing-url",
        "missing-key",
        "empty-url",
        "blank-url",
        "empty-key",
        "blank-key",
        "nulls",
        "empty-alias-and-key",
    ],
)
def test_parse_credentials_missing(raw: dict[str, Any], missing: list[str]) -> None:
    with pytest.raises(CredentialsError) as info:
        _provider().parse_credentials(raw)
    assert info.value.missing == missing
    for name in missing:
        assert name in info.value.message


def test_credentials_repr_hides_the_key() -> None:
    creds = _provider().parse_credentials({"api_url": API_URL, "api_key": "segredo-123"})
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "segredo-123" not in text
        assert API_URL in text


# ------------------------------------------------------------------ send


Handler = Callable[[httpx.Request], httpx.Response]


async def _send(handler: Handler, batch: BatchRequest = BATCH) -> SendResult:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await _provider().send(client, CREDS, batch)


async def test_send_posts_the_exact_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={"sucesso": True, "mensagem": "Campanha importada", "id_campanha": 9001,
                  "total": 2},
        )  # fmt: skip

    result = await _send(handler)
    assert len(seen) == 1
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == API_URL
    assert request.headers["Content-Type"] == "application/json"
    # The key travels in the body only: no auth header of any kind.
    assert "authorization" not in request.headers
    assert "x-api-key" not in request.headers
    assert API_KEY not in str(request.url)
    assert json.loads(request.content) == CDA_EXAMPLE_BODY
    assert result.reference == "9001"
    assert json.loads(result.response_text)["id_campanha"] == 9001
    assert result.failed_ids == {}


@pytest.mark.parametrize(
    ("status", "body", "reference"),
    [
        (200, b'{"sucesso": true, "id_campanha": 9001}', "9001"),
        (201, b'{"id_campanha": "abc-1"}', "abc-1"),
        (202, b'{"sucesso": true}', None),
        (200, b'{"id_campanha": null}', None),
        (200, b"[1, 2]", None),
        (200, b"ok", None),
        (204, b"", None),
    ],
    ids=["200-int", "201-str", "202-no-id", "null-id", "array-body", "text-body", "204-empty"],
)
async def test_send_2xx_is_success(status: int, body: bytes, reference: str | None) -> None:
    result = await _send(lambda _: httpx.Response(status, content=body))
    assert isinstance(result, SendResult)
    assert result.reference == reference
    assert result.response_text == (body.decode() or "Campanha importada pela CDA")


@pytest.mark.parametrize(
    "status",
    [400, 401, 403, 404, 409, 413, 422],
)
async def test_send_4xx_is_rejected(status: int) -> None:
    body = {"sucesso": False, "mensagem": "Chave de API inválida"}
    with pytest.raises(RejectedError) as info:
        await _send(lambda _: httpx.Response(status, json=body))
    assert not isinstance(info.value, RetryableError)
    assert info.value.status_code == status
    assert "Chave de API inválida" in info.value.body
    assert str(status) in info.value.message


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_send_retryable_statuses(status: int) -> None:
    with pytest.raises(RetryableError) as info:
        await _send(lambda _: httpx.Response(status, json={"sucesso": False}))
    assert info.value.status_code == status
    assert info.value.retry_after is None


@pytest.mark.parametrize("status", [502, 504])
async def test_send_gateway_failures_leave_the_outcome_unknown(status: int) -> None:
    """A proxy's bad gateway / gateway timeout may have passed the import on: never resent."""
    with pytest.raises(OutcomeUnknownError) as info:
        await _send(lambda _: httpx.Response(status, json={"sucesso": False}))
    assert info.value.status_code == status
    assert not isinstance(info.value, RetryableError)


async def test_send_429_honours_retry_after_seconds() -> None:
    with pytest.raises(RetryableError) as info:
        await _send(lambda _: httpx.Response(429, headers={"Retry-After": "7"}))
    assert info.value.status_code == 429
    assert info.value.retry_after == 7


async def test_send_503_honours_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    with pytest.raises(RetryableError) as info:
        await _send(lambda _: httpx.Response(503, headers={"Retry-After": when}))
    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 30


def _raising(exc_type: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulado", request=request)

    return handler


@pytest.mark.parametrize(
    ("exc_type", "expected"),
    [
        (httpx.ConnectError, RetryableError),
        (httpx.ConnectTimeout, RetryableError),
        (httpx.PoolTimeout, RetryableError),
        (httpx.WriteError, RetryableError),
        (httpx.WriteTimeout, RetryableError),
        (httpx.ReadTimeout, OutcomeUnknownError),
        (httpx.ReadError, OutcomeUnknownError),
        (httpx.RemoteProtocolError, OutcomeUnknownError),
    ],
    ids=lambda v: v.__name__,
)
async def test_send_transport_errors(
    exc_type: type[httpx.TransportError], expected: type[Exception]
) -> None:
    with pytest.raises(expected) as info:
        await _send(_raising(exc_type))
    assert type(info.value) is expected
    assert isinstance(info.value.__cause__, exc_type)
    assert API_KEY not in str(info.value)


async def test_send_uses_configured_timeout() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id_campanha": 1})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await CdaProvider(batch_size=1, timeout=12.5, max_attempts=1).send(client, CREDS, BATCH)
    assert seen[0].extensions["timeout"] == {
        "connect": 12.5, "read": 12.5, "write": 12.5, "pool": 12.5,
    }  # fmt: skip


# ------------------------------------------------------------------ parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("120", 120.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
    ids=[
        "absent",
        "empty",
        "seconds",
        "padded",
        "zero",
        "two-minutes",
        "fraction",
        "negative-clamped",
        "garbage",
        "past-date",
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_future_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    parsed = parse_retry_after(when)
    assert parsed is not None
    assert 85 <= parsed <= 90


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400"])
def test_parse_retry_after_rejects_non_finite(value: str) -> None:
    parsed = parse_retry_after(value)
    assert parsed is None or parsed < 1e9
