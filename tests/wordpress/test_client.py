"""WordPressClient against the real WordPress simulator on loopback (CONTRACTS 2.0-2.2, 2.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.types import ASGIApp, Receive, Scope, Send

from disparo.errors import CredentialsError
from disparo.http_server import start_server
from disparo.sim.wordpress import WordPressSimulator
from disparo.wordpress.client import NoDataError, WordPressClient, WordPressError
from tests.support import SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "wp-chave-mestra-exemplo"
AG = "C20250115093000"
CDA_CREDS = {"api_url": "https://cda.example.com/api/importar/campanha", "api_key": "chave-cda"}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def switch() -> AsyncIterator[SwappableApp]:
    """One loopback server per module; each test swaps in a fresh app behind it."""
    async with serve_swappable(WordPressSimulator(master_key=KEY).app) as swappable:
        yield swappable


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def sim(switch: SwappableApp) -> WordPressSimulator:
    return switch.swap(WordPressSimulator(master_key=KEY))


@pytest.fixture
def wp(switch: SwappableApp, http: httpx.AsyncClient, sim: WordPressSimulator) -> WordPressClient:
    return _client(http, switch.url + "/", KEY)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def dead_url() -> str:
    """The URL of a server that was started and stopped: connection refused."""
    server = await start_server(WordPressSimulator(master_key=KEY).app)
    await server.stop()
    return server.url


def _client(http: httpx.AsyncClient, url: str, key: str) -> WordPressClient:
    return WordPressClient(
        http, url, key, data_timeout=5.0, credentials_timeout=5.0, webhook_timeout=5.0
    )


async def _rows(wp: WordPressClient, agendamento_id: str = AG) -> list[dict[str, Any]]:
    return [row async for row in wp.stream_rows(agendamento_id)]


# ------------------------------------------------------------------ stream_rows


@pytest.mark.parametrize(
    ("generation", "wrapped", "count"),
    [("C", False, 3), ("C", True, 3), ("B", False, 2), ("B", True, 1), ("C", False, 1)],
    ids=["gen-c-bare", "gen-c-wrapped", "gen-b-bare", "gen-b-wrapped", "single-row"],
)
async def test_stream_rows_in_order(
    wp: WordPressClient, sim: WordPressSimulator, generation: Any, wrapped: bool, count: int
) -> None:
    rows = sim.seed_campaign(AG, count, generation=generation, wrapped=wrapped)
    assert await _rows(wp) == rows


async def test_stream_rows_twenty_thousand(wp: WordPressClient, sim: WordPressSimulator) -> None:
    rows = sim.seed_campaign(AG, 20_000, generation="B")
    got = await _rows(wp)
    assert len(got) == 20_000
    assert got == rows


async def test_stream_rows_twenty_thousand_wrapped_gen_c(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    rows = sim.seed_campaign(AG, 20_000, generation="C", wrapped=True)
    got = await _rows(wp)
    assert [r["telefone"] for r in got] == [r["telefone"] for r in rows]
    assert got[-1] == rows[-1]


@pytest.mark.parametrize(
    "agendamento_id",
    ["G20250115093000_CampanhaJaneiro", "G20250115093000_Campanha Janeiro"],
    ids=["recurring", "space-url-encoded"],
)
async def test_stream_rows_recurring_ids(
    wp: WordPressClient, sim: WordPressSimulator, agendamento_id: str
) -> None:
    rows = sim.seed_campaign(agendamento_id, 2)
    assert await _rows(wp, agendamento_id) == rows


async def test_stream_rows_only_pending_rows(wp: WordPressClient, sim: WordPressSimulator) -> None:
    sim.seed_campaign(AG, 2)
    sim.add_campaign("C20250115093001", sim.seed_campaign("C20250115093001", 2), status="enviado")
    assert len(await _rows(wp)) == 2
    with pytest.raises(NoDataError):
        await _rows(wp, "C20250115093001")


async def test_stream_rows_unknown_agendamento_404(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    with pytest.raises(NoDataError) as info:
        await _rows(wp, "C29990101000000")
    assert isinstance(info.value, WordPressError)
    assert not info.value.retryable


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
async def test_stream_rows_200_empty_yields_nothing(
    wp: WordPressClient, sim: WordPressSimulator, wrapped: bool
) -> None:
    sim.add_campaign(AG, [], wrapped=wrapped, empty_as_array=True)
    assert await _rows(wp) == []


async def test_stream_rows_wrong_key_401_not_retryable(
    switch: SwappableApp, http: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    sim.seed_campaign(AG, 2)
    wrong = _client(http, switch.url, "chave-errada")
    with pytest.raises(WordPressError) as info:
        await _rows(wrong)
    assert not isinstance(info.value, NoDataError)
    assert info.value.status == 401
    assert info.value.retryable is False
    assert "DISPARO_WORDPRESS_API_KEY" in info.value.message
    assert "chave-errada" not in info.value.message


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(503, True), (500, True), (502, True), (504, True), (429, True), (408, True),
     (400, False), (403, False)],
    ids=lambda v: str(v),
)  # fmt: skip
async def test_stream_rows_http_errors(
    wp: WordPressClient, sim: WordPressSimulator, status: int, retryable: bool
) -> None:
    sim.seed_campaign(AG, 2)
    sim.fail_next("data", status)
    with pytest.raises(WordPressError) as info:
        await _rows(wp)
    assert not isinstance(info.value, NoDataError)
    assert info.value.status == status
    assert info.value.retryable is retryable
    assert info.value.phase == "dados"
    # Only the injected fault failed: the next fetch works.
    assert len(await _rows(wp)) == 2


async def test_stream_rows_wordpress_down_is_retryable(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    sim.seed_campaign(AG, 1)
    sim.down = True
    with pytest.raises(WordPressError) as info:
        await _rows(wp)
    assert info.value.retryable and info.value.status == 503


async def test_stream_rows_no_master_key_is_retryable(
    switch: SwappableApp, wp: WordPressClient
) -> None:
    switch.swap(WordPressSimulator(master_key=None))
    with pytest.raises(WordPressError) as info:
        await _rows(wp)
    assert info.value.retryable and info.value.status == 503


async def test_stream_rows_connection_refused_is_retryable(
    http: httpx.AsyncClient, dead_url: str
) -> None:
    with pytest.raises(WordPressError) as info:
        await _rows(_client(http, dead_url, KEY))
    assert not isinstance(info.value, NoDataError)
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def _raw_app(body: bytes) -> ASGIApp:
    """The simulator always serialises valid JSON, so invalid bodies come from this stub."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json; charset=UTF-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize(
    "body",
    [b"<html>erro fatal do PHP</html>", b'[{"telefone": "5511900000001"', b"", b"[1, }"],
    ids=["html", "truncated", "empty", "broken"],
)
async def test_stream_rows_invalid_json_not_retryable(
    switch: SwappableApp, wp: WordPressClient, sim: WordPressSimulator, body: bytes
) -> None:
    switch.app = _raw_app(body)
    with pytest.raises(WordPressError) as info:
        await _rows(wp)
    assert not isinstance(info.value, NoDataError)
    assert info.value.retryable is False
    assert "JSON" in info.value.message


# ------------------------------------------------------------------ fetch_credentials


async def test_fetch_credentials_static(wp: WordPressClient, sim: WordPressSimulator) -> None:
    sim.set_credentials("cda", CDA_CREDS)
    assert await wp.fetch_credentials("cda", "1001") == CDA_CREDS


async def test_fetch_credentials_per_environment(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    creds = {"url": "https://gosac.example.com", "token": "tok_exemplo_gosac"}
    sim.set_credentials("gosac", creds, env_id="1001")
    assert await wp.fetch_credentials("gosac", "1001") == creds
    with pytest.raises(CredentialsError):
        await wp.fetch_credentials("gosac", "2002")


@pytest.mark.parametrize(
    ("provider", "message"),
    [("cda", "CDA"), ("rcs", "RCS"), ("noah", "NOAH:1001")],
    ids=["static-404", "rcs-400-incomplete", "env-404"],
)
async def test_fetch_credentials_missing(
    wp: WordPressClient, sim: WordPressSimulator, provider: str, message: str
) -> None:
    with pytest.raises(CredentialsError) as info:
        await wp.fetch_credentials(provider, "1001")
    assert message in info.value.message


async def test_fetch_credentials_503_retryable(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    sim.set_credentials("cda", CDA_CREDS)
    sim.fail_next("credentials", 503)
    with pytest.raises(WordPressError) as info:
        await wp.fetch_credentials("cda", "1001")
    assert info.value.retryable is True
    assert info.value.status == 503
    assert info.value.phase == "credenciais"
    assert await wp.fetch_credentials("cda", "1001") == CDA_CREDS


async def test_fetch_credentials_wrong_key_not_retryable(
    switch: SwappableApp, http: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    sim.set_credentials("cda", CDA_CREDS)
    with pytest.raises(WordPressError) as info:
        await _client(http, switch.url, "chave-errada").fetch_credentials("cda", "1001")
    assert info.value.retryable is False
    assert info.value.status == 401
    assert info.value.phase == "credenciais"
    assert "DISPARO_WORDPRESS_API_KEY" in info.value.message


async def test_fetch_credentials_connection_refused(http: httpx.AsyncClient, dead_url: str) -> None:
    with pytest.raises(WordPressError) as info:
        await _client(http, dead_url, KEY).fetch_credentials("cda", "1001")
    assert info.value.retryable is True
    assert info.value.phase == "credenciais"


@pytest.mark.parametrize(
    "body",
    [b"<html></html>", b'["api_url"]'],
    ids=["not-json", "not-an-object"],
)
async def test_fetch_credentials_unusable_body(
    switch: SwappableApp, wp: WordPressClient, sim: WordPressSimulator, body: bytes
) -> None:
    switch.app = _raw_app(body)
    with pytest.raises(CredentialsError):
        await wp.fetch_credentials("cda", "1001")


# ------------------------------------------------------------------ post_status


def _payload(agendamento_id: str = AG, status: str = "enviado") -> dict[str, Any]:
    return {
        "agendamento_id": agendamento_id,
        "status": status,
        "resposta_api": '{"id_campanha":9001}',
        "mensagem_progresso": "Processado: 100% (2 / 2 msgs neste lote)",
        "data_disparo": "2025-01-15T12:31:05.120Z",
        "total_enviados": 2,
        "total_falhas": 0,
        "provider": "CDA",
    }


async def test_post_status_delivered(wp: WordPressClient, sim: WordPressSimulator) -> None:
    sim.seed_campaign(AG, 2)
    outcome = await wp.post_status(_payload())
    assert outcome.delivered is True
    assert outcome.retryable is False
    assert outcome.detail.startswith("HTTP 200")
    assert sim.row_statuses(AG) == {"enviado"}
    assert sim.webhooks_for(AG) == [_payload()]
    headers = sim.webhooks[-1].headers
    assert headers["content-type"] == "application/json"
    assert headers["x-api-key"] == KEY


async def test_post_status_unknown_agendamento(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    outcome = await wp.post_status(_payload("C29990101000000"))
    assert (outcome.delivered, outcome.retryable) == (False, False)
    assert "404" in outcome.detail


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(503, True), (502, True), (504, True), (500, True), (429, True), (413, True),
     (408, True), (400, False), (404, False)],
    ids=lambda v: str(v),
)  # fmt: skip
async def test_post_status_http_errors(
    wp: WordPressClient, sim: WordPressSimulator, status: int, retryable: bool
) -> None:
    sim.seed_campaign(AG, 1)
    sim.fail_next("webhook", status)
    outcome = await wp.post_status(_payload())
    assert (outcome.delivered, outcome.retryable) == (False, retryable)
    assert str(status) in outcome.detail
    assert sim.row_statuses(AG) == {"pendente_aprovacao"}


async def test_post_status_success_false_not_delivered(
    wp: WordPressClient, sim: WordPressSimulator
) -> None:
    sim.seed_campaign(AG, 1)
    sim.fail_next("webhook", 200, body={"success": False, "message": "falhou"})
    outcome = await wp.post_status(_payload())
    assert (outcome.delivered, outcome.retryable) == (False, False)


async def test_post_status_wrong_key_not_retryable(
    switch: SwappableApp, http: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    sim.seed_campaign(AG, 1)
    outcome = await _client(http, switch.url, "chave-errada").post_status(_payload())
    assert (outcome.delivered, outcome.retryable) == (False, False)
    assert "401" in outcome.detail
    assert sim.row_statuses(AG) == {"pendente_aprovacao"}


async def test_post_status_connection_refused_retryable(
    http: httpx.AsyncClient, dead_url: str
) -> None:
    outcome = await _client(http, dead_url, KEY).post_status(_payload())
    assert (outcome.delivered, outcome.retryable) == (False, True)
