"""The WordPress simulator over real HTTP on loopback (CONTRACTS 2.0, 2.1, 2.2, 2.4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from disparo.sim.samples import make_rows, sample_agendamento_id
from disparo.sim.wordpress import WordPressSimulator
from tests.support import SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "wp-chave-mestra-exemplo"
AUTH = {"X-API-KEY": KEY}
AG = "C20250115093000"
DATA = f"/wp-json/campaigns/v1/data/{AG}"
WEBHOOK = "/wp-json/webhook-status/v1/update"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    """One server per module; each test gets a fresh simulator behind it."""
    async with serve_swappable(WordPressSimulator(KEY).app) as swappable:
        yield swappable


@pytest.fixture
def sim(current: SwappableApp) -> WordPressSimulator:
    return current.swap(WordPressSimulator(KEY))


def _envelope(code: str, message: str, status: int, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **data}}


NO_MASTER = _envelope("no_master_key", "Master API Key não configurada.", 503)
NO_KEY = _envelope("no_key_provided", "API Key não fornecida no header X-API-KEY.", 401)
BAD_KEY = _envelope("invalid_key", "API Key inválida.", 401)
NO_DATA = _envelope("no_data", "Nenhum dado encontrado para este agendamento.", 404)
BODY_VAZIO = _envelope("invalid_request", "Body vazio", 400)
OBRIGATORIOS = _envelope("invalid_request", "agendamento_id e status são obrigatórios", 400)


def _seed(sim: WordPressSimulator, count: int = 2, **kw: Any) -> list[dict[str, Any]]:
    rows = make_rows(AG, count)
    sim.add_campaign(AG, rows, **kw)
    return rows


async def _webhook(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(WEBHOOK, json=body, headers=AUTH)


# --------------------------------------------------------------------------- samples
# (async only because the module-wide mark above rejects plain functions)


async def test_make_rows_gen_c_matches_contract_shape() -> None:
    rows = make_rows(AG, 3, env_id="2002")
    assert rows == make_rows(AG, 3, env_id="2002")  # deterministic
    first = rows[0]
    assert first["telefone"] == "5511900000000"
    assert first["nome"] == "CLIENTE EXEMPLO 1"
    assert first["cpf_cnpj"] == "11111111111"
    assert first["mensagem"] == "Olá CLIENTE EXEMPLO 1, temos uma proposta para o seu contrato."
    assert first["idgis_ambiente"] == "2002"
    assert first["agendamento_id"] == AG
    assert first["variables"]["telefone"] == first["telefone"]
    for row in rows:
        assert len(row["telefone"]) == 13 and row["telefone"].startswith("55")
        assert len(row["cpf_cnpj"]) == 11 and row["cpf_cnpj"].isdigit()
        assert all(isinstance(v, str) for k, v in row.items() if k != "variables")
    assert len({r["telefone"] for r in rows}) == 3
    assert len({r["id"] for r in rows}) == 3


async def test_make_rows_gen_b_has_only_gen_b_fields() -> None:
    (row,) = make_rows(AG, 1, generation="B", message="Oi {nome} {x}")
    assert set(row) == {
        "telefone",
        "nome",
        "id_carteira",
        "idcob_contrato",
        "cpf_cnpj",
        "mensagem",
        "data_cadastro",
    }
    assert row["mensagem"] == "Oi CLIENTE EXEMPLO 1 {x}"


async def test_sample_agendamento_id() -> None:
    assert sample_agendamento_id("G", datetime(2025, 1, 15, 9, 30, 0)) == "G20250115093000"


# ----------------------------------------------------------------------------- auth

ROUTES = [
    ("GET", DATA, None),
    ("GET", "/wp-json/api-manager/v1/credentials/cda/1001", None),
    ("POST", WEBHOOK, {"agendamento_id": AG, "status": "enviado"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    ("master", "headers", "status", "expected"),
    [
        (None, AUTH, 503, NO_MASTER),
        ("", AUTH, 503, NO_MASTER),
        (KEY, {}, 401, NO_KEY),
        (KEY, {"X-API-KEY": ""}, 401, NO_KEY),
        (KEY, {"X-API-KEY": "outra-chave"}, 401, BAD_KEY),
        (KEY, {"X-API-KEY": KEY.upper()}, 401, BAD_KEY),
        (f"  {KEY} ", AUTH, 200, None),  # h11 refuses padded header values on the wire
        (KEY, {"x-api-key": KEY}, 200, None),
        (KEY, {"X_API_KEY": KEY}, 200, None),
    ],
)
async def test_auth(
    client: httpx.AsyncClient,
    sim: WordPressSimulator,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    master: str | None,
    headers: dict[str, str],
    status: int,
    expected: dict[str, Any] | None,
) -> None:
    sim.master_key = master
    _seed(sim)
    sim.set_credentials("cda", {"api_url": "http://cda.example.com", "api_key": "k"})
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == status
    if expected is not None:
        assert response.json() == expected
        assert sim.row_statuses(AG) == {"pendente_aprovacao"}


# ----------------------------------------------------------------------------- data


async def test_data_returns_rows_as_json_array(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    rows = _seed(sim, 3)
    response = await client.get(DATA, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == rows


@pytest.mark.parametrize(
    ("kw", "count", "status", "expected"),
    [
        ({"wrapped": True}, 2, 200, lambda rows: {"data": rows}),
        ({}, 0, 404, lambda rows: NO_DATA),
        ({"empty_as_array": True}, 0, 200, lambda rows: []),
        ({"empty_as_array": True, "wrapped": True}, 0, 200, lambda rows: {"data": []}),
        ({"status": "enviado"}, 2, 404, lambda rows: NO_DATA),
        ({"status": "pendente"}, 2, 200, lambda rows: rows),
    ],
)
async def test_data_variants(
    client: httpx.AsyncClient,
    sim: WordPressSimulator,
    kw: dict[str, Any],
    count: int,
    status: int,
    expected: Any,
) -> None:
    rows = _seed(sim, count, **kw)
    response = await client.get(DATA, headers=AUTH)
    assert response.status_code == status
    assert response.json() == expected(rows)


async def test_data_unknown_and_blank_ids(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    unknown = await client.get("/wp-json/campaigns/v1/data/C19990101000000", headers=AUTH)
    assert (unknown.status_code, unknown.json()) == (404, NO_DATA)
    blank = await client.get("/wp-json/campaigns/v1/data/%20", headers=AUTH)
    assert blank.status_code == 400
    assert blank.json()["code"] == "invalid_agendamento"
    no_route = await client.get("/wp-json/campaigns/v1/config/X", headers=AUTH)
    assert no_route.status_code == 404
    assert no_route.json()["code"] == "rest_no_route"


async def test_data_only_serves_pending_rows(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    _seed(sim)
    await _webhook(client, {"agendamento_id": AG, "status": "processando"})
    assert (await client.get(DATA, headers=AUTH)).status_code == 200
    await _webhook(client, {"agendamento_id": AG, "status": "enviado"})
    gone = await client.get(DATA, headers=AUTH)
    assert (gone.status_code, gone.json()) == (404, NO_DATA)


async def test_data_serves_100k_rows(client: httpx.AsyncClient, sim: WordPressSimulator) -> None:
    sim.add_campaign(AG, make_rows(AG, 100_000, generation="B"))
    first = await client.get(DATA, headers=AUTH)
    second = await client.get(DATA, headers=AUTH)
    assert first.status_code == 200
    assert first.content == second.content
    parsed = orjson.loads(first.content)
    assert len(parsed) == 100_000
    assert parsed[-1]["nome"] == "CLIENTE EXEMPLO 100000"


# ---------------------------------------------------------------------- credentials

CDA = {"api_url": "https://cda.example.com/api/importar/campanha", "api_key": "chave-cda"}
GOSAC = {"url": "https://gosac.example.com/api", "token": "tok_exemplo_gosac"}
SF = {
    "client_id": "cid",
    "client_secret": "cs",
    "username": "u",
    "password": "p",
    "token_url": "https://login.example.com/token",
    "api_url": "https://x.my.salesforce.com",
}
SF_ENV = {"operacao": "OP1", "automation_id": "auto-1"}


def _missing(provider: str, env: str) -> dict[str, Any]:
    return _envelope("no_credentials", f"Credenciais não encontradas para {provider}:{env}", 404)


def _static_missing(provider: str) -> dict[str, Any]:
    return _envelope(
        "no_credentials", f"Credenciais estáticas não configuradas para {provider}", 404
    )


CREDENTIAL_CASES: list[tuple[str, list[tuple[str, Any, str | None]], int, Any]] = [
    ("cda/1001", [("cda", CDA, None)], 200, CDA),
    ("CDA/abc", [("cda", CDA, None)], 200, CDA),
    ("cda/1001", [], 404, _static_missing("CDA")),
    ("cda/1001", [("cda", {"api_url": "", "api_key": ""}, None)], 404, _static_missing("CDA")),
    (
        "cda/1001",
        [("cda", {"api_url": "", "api_key": "k"}, None)],
        200,
        {"api_url": "", "api_key": "k"},
    ),
    ("mkc/1001", [("mkc", {"client_id": "m"}, None)], 200, {"client_id": "m"}),
    ("gosac/1001", [("gosac", GOSAC, "1001")], 200, GOSAC),
    ("gosac/2002", [("gosac", GOSAC, "1001")], 404, _missing("GOSAC", "2002")),
    ("noah/1001", [("gosac", GOSAC, "1001")], 404, _missing("NOAH", "1001")),
    ("noah/1001", [("noah", GOSAC, "1001")], 200, GOSAC),
    (
        "rcs/1001",
        [("rcs", {"chave_api": "r", "base_url": "b"}, None)],
        200,
        {"chave_api": "r", "base_url": "b"},
    ),
    ("salesforce/1001", [("salesforce", SF, None)], 200, SF),
    (
        "salesforce/1001",
        [("salesforce", SF, None), ("salesforce", SF_ENV, "1001")],
        200,
        SF | SF_ENV,
    ),
    (
        "salesforce/01001",
        [("salesforce", SF, None), ("salesforce", SF_ENV, "1001")],
        200,
        SF | SF_ENV,
    ),
    ("salesforce/9", [("salesforce", SF, None), ("salesforce", SF_ENV, "1001")], 200, SF | SF_ENV),
    (
        "rcs_otima/1",
        [("rcs_otima", {"token": "t", "api_url": "u"}, None)],
        200,
        {"token": "t", "api_url": "u"},
    ),
]


@pytest.mark.parametrize(("path", "setup", "status", "expected"), CREDENTIAL_CASES)
async def test_credentials(
    client: httpx.AsyncClient,
    sim: WordPressSimulator,
    path: str,
    setup: list[tuple[str, Any, str | None]],
    status: int,
    expected: Any,
) -> None:
    for provider, value, env in setup:
        sim.set_credentials(provider, value, env)
    response = await client.get(f"/wp-json/api-manager/v1/credentials/{path}", headers=AUTH)
    assert (response.status_code, response.json()) == (status, expected)


@pytest.mark.parametrize(
    ("path", "data_code", "extra"),
    [
        (
            "rcs/1",
            "INCOMPLETE_RCS_CREDENTIALS",
            {"missing_fields": ["chave_api"], "provider": "RCS"},
        ),
        ("rcs_otima/1", "INCOMPLETE_OTIMA_RCS_CREDENTIALS", {"provider": "OTIMA RCS"}),
        (
            "whatsapp_otima/1",
            "INCOMPLETE_OTIMA_WPP_CREDENTIALS",
            {"missing_fields": ["token"], "provider": "OTIMA WPP"},
        ),
    ],
)
async def test_incomplete_credentials(
    client: httpx.AsyncClient,
    sim: WordPressSimulator,
    path: str,
    data_code: str,
    extra: dict[str, Any],
) -> None:
    response = await client.get(f"/wp-json/api-manager/v1/credentials/{path}", headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert body["data"] == {"status": 400, "code": data_code, **extra}


# -------------------------------------------------------------------------- webhook


@pytest.mark.parametrize(
    ("service_status", "row_status"),
    [
        ("processando", "pendente"),
        ("enviado", "enviado"),
        ("erro_envio", "erro"),
        ("erro_credenciais", "erro"),
        ("erro_validacao", "erro"),
        ("iniciado", "enviado"),
        ("erro_inicio", "erro"),
        ("mkc_executado", "enviado"),
        ("mkc_erro", "erro"),
        ("qualquer_outro", "erro"),
    ],
)
async def test_webhook_status_mapping(
    client: httpx.AsyncClient, sim: WordPressSimulator, service_status: str, row_status: str
) -> None:
    _seed(sim, 2)
    payload = {
        "agendamento_id": AG,
        "status": service_status,
        "resposta_api": '{"id":4321}',
        "total_enviados": 2,
        "total_falhas": 0,
        "provider": "CDA",
    }
    response = await _webhook(client, payload)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Status atualizado com sucesso",
        "agendamento_id": AG,
        "status": row_status,
        "records_updated": 2,
        "total_enviados": 2,
        "total_falhas": 0,
    }
    assert sim.row_statuses(AG) == {row_status}
    assert sim.webhooks_for(AG) == [payload]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "expected"),
    [
        (b"", "application/json", 400, BODY_VAZIO),
        (b"   ", "application/json", 400, BODY_VAZIO),
        (b"{not json", "application/json", 400, BODY_VAZIO),
        (b"{}", "application/json", 400, BODY_VAZIO),
        (b'{"agendamento_id": "C1", "status": "enviado"}', "text/plain", 400, BODY_VAZIO),
        (b'{"status": "enviado"}', "application/json", 400, OBRIGATORIOS),
        (b'{"agendamento_id": "' + AG.encode() + b'"}', "application/json", 400, OBRIGATORIOS),
        (b'{"agendamento_id": "", "status": "enviado"}', "application/json", 400, OBRIGATORIOS),
        (
            b'{"agendamento_id": "' + AG.encode() + b'", "status": " "}',
            "application/json",
            400,
            OBRIGATORIOS,
        ),
        (b"[1, 2]", "application/json", 400, OBRIGATORIOS),
        (
            b'{"agendamento_id": "C19990101000000", "status": "enviado"}',
            "application/json",
            404,
            _envelope(
                "agendamento_not_found",
                "Nenhum registro encontrado para o agendamento C19990101000000.",
                404,
                agendamento_id="C19990101000000",
                received_status="enviado",
                normalized_status="enviado",
            ),
        ),
    ],
)
async def test_webhook_rejections(
    client: httpx.AsyncClient,
    sim: WordPressSimulator,
    content: bytes,
    content_type: str,
    status: int,
    expected: dict[str, Any],
) -> None:
    _seed(sim)
    response = await client.post(
        WEBHOOK, content=content, headers={**AUTH, "Content-Type": content_type}
    )
    assert (response.status_code, response.json()) == (status, expected)
    assert sim.row_statuses(AG) == {"pendente_aprovacao"}
    assert sim.webhooks_for(AG) == []
    (record,) = sim.webhooks
    assert record.raw == content
    assert record.response_status == status


async def test_webhook_stores_columns_and_counts_only_changed_rows(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    _seed(sim, 3)
    payload = {
        "agendamento_id": AG,
        "status": "enviado",
        "resposta_api": "ok",
        "mensagem_progresso": "Processado: 100% (3 / 3 msgs neste lote)",
        "data_disparo": "2025-01-15T09:31:05.120-03:00",
    }
    first = await _webhook(client, payload)
    again = await _webhook(client, payload)
    assert first.json()["records_updated"] == 3
    assert again.json()["records_updated"] == 0
    assert again.json()["success"] is True
    assert sim.row_columns(AG)[0] == {
        "status": "enviado",
        "data_disparo": "2025-01-15 12:31:05",
        "resposta_api": "Processado: 100% (3 / 3 msgs neste lote)\n\nok",
    }
    record = sim.webhooks[0]
    assert record.headers["x-api-key"] == KEY
    assert record.headers["content-type"] == "application/json"
    assert record.body == payload


async def test_webhook_bulk(client: httpx.AsyncClient, sim: WordPressSimulator) -> None:
    _seed(sim, 2)
    response = await _webhook(
        client,
        {
            "bulk": True,
            "updates": [
                {"agendamento_id": AG, "status": "enviado"},
                {"agendamento_id": "C19990101000000", "status": "enviado"},
                {"status": "enviado"},
            ],
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "message": "Bulk processado: 1 ok, 2 com erro",
        "total_items": 3,
        "total_records_updated": 2,
        "total_errors": 2,
        "results": [
            {"agendamento_id": AG, "ok": True, "records": 2},
            {"agendamento_id": "C19990101000000", "ok": False, "reason": "agendamento_not_found"},
            {"agendamento_id": "", "ok": False, "reason": "missing_fields"},
        ],
    }
    assert sim.webhooks_for(AG) == [{"agendamento_id": AG, "status": "enviado"}]


# ------------------------------------------------------------------- fault injection


@pytest.mark.parametrize(
    ("route", "method", "path", "body"),
    [
        ("data", "GET", DATA, None),
        ("credentials", "GET", "/wp-json/api-manager/v1/credentials/cda/1", None),
        ("webhook", "POST", WEBHOOK, {"agendamento_id": AG, "status": "enviado"}),
    ],
)
async def test_fail_next_then_recover(
    client: httpx.AsyncClient,
    sim: WordPressSimulator,
    route: Any,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    _seed(sim)
    sim.set_credentials("cda", CDA)
    sim.fail_next(route, 502, count=2)
    sim.fail_next(route, 429, body={"code": "slow_down"}, headers={"Retry-After": "3"})
    statuses = []
    for _ in range(4):
        response = await client.request(method, path, json=body, headers=AUTH)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json() == {"code": "slow_down"}
            assert response.headers["retry-after"] == "3"
    assert statuses == [502, 502, 429, 200]
    assert sim.requests_seen[route] == 4


async def test_fail_next_rejects_unknown_route(sim: WordPressSimulator) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        sim.fail_next("nope", 500)  # type: ignore[arg-type]


async def test_down_answers_503_everywhere_but_admin(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    _seed(sim)
    sim.down = True
    for method, path, body in ROUTES:
        response = await client.request(method, path, json=body, headers=AUTH)
        assert response.status_code == 503
    assert (await client.get("/_sim/webhooks")).status_code == 200
    assert sim.row_statuses(AG) == {"pendente_aprovacao"}
    await client.post("/_sim/down", json={"down": False})
    assert (await client.get(DATA, headers=AUTH)).status_code == 200


async def test_delay_next_provokes_client_timeout(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    _seed(sim)
    sim.delay_next("data", 0.15)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(DATA, headers=AUTH, timeout=0.05)
    await asyncio.sleep(0.15)  # let the delayed handler finish before the next test
    assert (await client.get(DATA, headers=AUTH)).status_code == 200


# ---------------------------------------------------------------------- admin routes


async def test_admin_routes_seed_and_inspect(
    client: httpx.AsyncClient, sim: WordPressSimulator
) -> None:
    seeded = await client.post(
        "/_sim/campaigns", json={"agendamento_id": AG, "count": 5, "env_id": "3003"}
    )
    assert seeded.status_code == 201
    rows = (await client.get(DATA, headers=AUTH)).json()
    assert len(rows) == 5
    assert {r["idgis_ambiente"] for r in rows} == {"3003"}

    await client.post(
        "/_sim/credentials", json={"provider": "gosac", "value": GOSAC, "env_id": "3003"}
    )
    creds = await client.get("/wp-json/api-manager/v1/credentials/gosac/3003", headers=AUTH)
    assert creds.json() == GOSAC

    await client.post("/_sim/fail_next", json={"route": "webhook", "status": 504})
    payload = {"agendamento_id": AG, "status": "erro_envio", "provider": "GOSAC"}
    assert (await _webhook(client, payload)).status_code == 504
    assert (await _webhook(client, payload)).status_code == 200

    hooks = (await client.get("/_sim/webhooks")).json()
    assert [h["response_status"] for h in hooks] == [504, 200]
    assert hooks[1]["body"] == payload
    assert hooks[1]["headers"]["x-api-key"] == KEY

    info = (await client.get(f"/_sim/campaigns/{AG}")).json()
    assert info == {"agendamento_id": AG, "rows": 5, "statuses": ["erro"], "webhooks": [payload]}
