"""RcsProvider against the CromosApp RCS simulator over real HTTP: credentials, the exact
request, the not-RCS report, and every fault the simulator can inject."""

from __future__ import annotations

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
from disparo.providers.rcs.adapter import NOT_RCS, RcsCredentials, RcsProvider
from disparo.providers.rcs.simulator import IMPORT_PATH, RcsSimulator
from disparo.providers.rcs.wire import DEFAULT_URL

KEY = "chave-exemplo-rcs"
TEXT = "Olá! Veja a proposta para o seu contrato."
UM = Recipient(1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001",
               TEXT, {"midia_campanha": "https://cdn.example.com/banner.png"})  # fmt: skip
DOIS = Recipient(2, "5521900000002", "CLIENTE EXEMPLO DOIS", "", "77", "1001", "", TEXT, None)
BATCH = BatchRequest("R20250115093000", "1001", 0, [UM, DOIS], campaign_text=TEXT)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[RcsSimulator, str]]:
    simulator = RcsSimulator(KEY)
    async with await start_server(simulator.app) as server:
        yield simulator, server.url + IMPORT_PATH


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def provider(timeout: float = 5.0) -> RcsProvider:
    return RcsProvider(batch_size=100, timeout=timeout, max_attempts=3)


@pytest.mark.parametrize(
    ("raw", "url", "key", "options"),
    [
        ({"chave_api": KEY, "base_url": "https://x.example.com/i"}, "https://x.example.com/i",
         KEY, {}),
        ({"chave_api": f" {KEY} ", "base_url": ""}, DEFAULT_URL, KEY, {}),
        ({"api_key": KEY}, DEFAULT_URL, KEY, {}),  # Gen C falls back to the CDA key
        ({"chave_api": KEY, "tag_cpf": "1", "tag_boleto": "", "midia_campanha": "https://m"},
         DEFAULT_URL, KEY, {"tag_cpf": "1", "midia_campanha": "https://m"}),
    ],
)  # fmt: skip
def test_credentials(raw: dict[str, Any], url: str, key: str, options: dict[str, str]) -> None:
    parsed = provider().parse_credentials(raw)
    assert (parsed.url, parsed.api_key, parsed.options) == (url, key, options)
    assert KEY not in repr(parsed)


@pytest.mark.parametrize("raw", [{}, {"chave_api": " "}, {"base_url": DEFAULT_URL}])
def test_missing_key_is_a_credentials_error(raw: dict[str, Any]) -> None:
    with pytest.raises(CredentialsError) as caught:
        provider().parse_credentials(raw)
    assert caught.value.missing == ["chave_api"]


async def test_send_posts_the_contract_body_and_reads_the_not_rcs_report(
    sim: tuple[RcsSimulator, str], http: httpx.AsyncClient
) -> None:
    simulator, url = sim
    simulator.not_rcs_capable.add(DOIS.phone)

    result = await provider().send(http, RcsCredentials(url, KEY), BATCH)

    [request] = simulator.requests
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert body["mensagens"] == [
        "1;5511900000001;CLIENTE EXEMPLO UM;500001;11111111111",
        "1;5521900000002;CLIENTE EXEMPLO DOIS;;",
    ]
    assert body["midia_campanha"] == "https://cdn.example.com/banner.png"
    assert body["corpo_mensagem"] == TEXT and body["chave_api"] == KEY
    assert result.reference == "7001"
    assert result.unreachable_ids == {DOIS.id: NOT_RCS} and result.failed_ids == {}
    assert simulator.deliveries == {UM.phone: ["RCS"]}
    assert request.response_body["sem_rcs"] == [DOIS.phone]


async def test_wrong_key_is_rejected(
    sim: tuple[RcsSimulator, str], http: httpx.AsyncClient
) -> None:
    simulator, url = sim
    with pytest.raises(RejectedError) as caught:
        await provider().send(http, RcsCredentials(url, "outra"), BATCH)
    assert caught.value.status_code == 401 and "Chave de API inválida" in caught.value.message
    assert simulator.deliveries == {}


@pytest.mark.parametrize(
    ("status", "retry_after", "error", "expected_after"),
    [
        (503, None, RetryableError, None),
        (500, None, RetryableError, None),
        (429, 7, RetryableError, 7.0),
        (502, None, OutcomeUnknownError, None),
        (504, None, OutcomeUnknownError, None),
        (422, None, RejectedError, None),
    ],
)
async def test_injected_faults(
    sim: tuple[RcsSimulator, str],
    http: httpx.AsyncClient,
    status: int,
    retry_after: int | None,
    error: type[Exception],
    expected_after: float | None,
) -> None:
    simulator, url = sim
    simulator.fail_next(status, retry_after=retry_after)
    with pytest.raises(error) as caught:
        await provider().send(http, RcsCredentials(url, KEY), BATCH)
    assert getattr(caught.value, "retry_after", None) == expected_after
    assert simulator.deliveries == {} and simulator.imported == []
    # the fault was used up: the next request is imported
    await provider().send(http, RcsCredentials(url, KEY), BATCH)
    assert len(simulator.imported) == 1


async def test_slow_answer_past_the_timeout_is_an_unknown_outcome(
    sim: tuple[RcsSimulator, str], http: httpx.AsyncClient
) -> None:
    simulator, url = sim
    simulator.delay_next(1.0)
    with pytest.raises(OutcomeUnknownError):
        await provider(timeout=0.3).send(http, RcsCredentials(url, KEY), BATCH)
    assert len(simulator.requests) == 1


def _valid() -> dict[str, Any]:
    return {
        "chave_api": KEY,
        "codigo_equipe": "1001",
        "codigo_usuario": "1",
        "nome": "campanha_1001_1736944200000",
        "ativo": True,
        "corpo_mensagem": TEXT,
        "mensagens": ["1;5511900000001;A;1;1"],
    }


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        ({}, 200, None),
        ({"mensagens": ["5511900000001;A;1;1"]}, 422, "Linha inválida"),  # 4 fields
        ({"mensagens": ["2;5511900000001;A;1;1"]}, 422, "Linha inválida"),  # no leading 1
        ({"mensagens": ["1;5511900000001;A;1;111.111"]}, 422, "Linha inválida"),  # cpf digits
        ({"mensagens": []}, 422, "mensagens"),
        ({"midia_campanha": "banner.png"}, 422, "midia_campanha"),
        ({"midia_campanha": ""}, 422, "midia_campanha"),
        ({"dthr_agendado": "15/01/2025"}, 422, "dthr_agendado"),
        ({"ativo": "true"}, 422, "ativo"),
        ({"codigo_usuario": 1}, 422, "codigo_usuario"),
        ({"nome": "campanha"}, 422, "nome"),
        ({"chave_api": "x"}, 401, "Chave"),
    ],
)
async def test_simulator_checks_the_payload(
    sim: tuple[RcsSimulator, str],
    http: httpx.AsyncClient,
    change: dict[str, Any],
    status: int,
    problem: str | None,
) -> None:
    simulator, url = sim
    response = await http.post(url, json=_valid() | change)
    assert response.status_code == status, response.text
    if problem is not None:
        assert problem in response.text and response.json()["sucesso"] is False
    assert len(simulator.imported) == (1 if status == 200 else 0)
