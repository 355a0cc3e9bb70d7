"""The CromosApp import simulator over real HTTP on loopback (CONTRACTS 5.1)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from tests.support import CDA_EXAMPLE_BODY, SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "chave-exemplo-cda"
GOOD = CDA_EXAMPLE_BODY
BAD_KEY = {"sucesso": False, "mensagem": "Chave de API inválida"}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    """One server per module; each test gets a fresh simulator behind it."""
    async with serve_swappable(CdaSimulator(KEY).app) as swappable:
        yield swappable


@pytest.fixture
def sim(current: SwappableApp) -> CdaSimulator:
    return current.swap(CdaSimulator(KEY))


_DROP = object()


def _with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    for name, value in changes.items():
        if value is _DROP:
            del body[name]
        else:
            body[name] = value
    return body


async def test_import_succeeds_and_ids_increment(
    client: httpx.AsyncClient, sim: CdaSimulator
) -> None:
    first = await client.post(IMPORT_PATH, json=GOOD)
    second = await client.post(IMPORT_PATH, json=GOOD)
    assert first.status_code == 200
    assert first.json() == {
        "sucesso": True,
        "mensagem": "Campanha importada",
        "id_campanha": 9001,
        "total": 2,
    }
    assert second.json()["id_campanha"] == 9002
    assert [c.id_campanha for c in sim.imported] == [9001, 9002]
    campaign = sim.campaign(9001)
    assert campaign is not None
    assert campaign.mensagens == GOOD["mensagens"]
    assert campaign.codigo_equipe == "1001"
    request = sim.requests[0]
    assert (request.method, request.path, request.json) == ("POST", IMPORT_PATH, GOOD)
    assert request.headers["content-type"] == "application/json"
    assert request.response_status == 200


@pytest.mark.parametrize(
    "body",
    [
        _with(chave_api="outra-chave"),
        _with(chave_api=""),
        _with(chave_api=_DROP),
        _with(chave_api=123),
        _with(chave_api=f" {KEY}"),
    ],
)
async def test_bad_key(client: httpx.AsyncClient, sim: CdaSimulator, body: dict[str, Any]) -> None:
    response = await client.post(IMPORT_PATH, json=body)
    assert (response.status_code, response.json()) == (401, BAD_KEY)
    assert sim.imported == []


@pytest.mark.parametrize(
    ("changes", "campo"),
    [
        ({"codigo_equipe": _DROP}, "codigo_equipe"),
        ({"codigo_equipe": 1001}, "codigo_equipe"),
        ({"codigo_equipe": " "}, "codigo_equipe"),
        ({"codigo_usuario": 1}, "codigo_usuario"),
        ({"codigo_usuario": "2"}, "codigo_usuario"),
        ({"codigo_usuario": _DROP}, "codigo_usuario"),
        ({"nome": "campanha_C20250115093000"}, "nome"),
        ({"nome": "campanha_2002_1736944200000"}, "nome"),
        ({"nome": "campanha_1001_"}, "nome"),
        ({"nome": _DROP}, "nome"),
        ({"ativo": False}, "ativo"),
        ({"ativo": "true"}, "ativo"),
        ({"ativo": 1}, "ativo"),
        ({"ativo": _DROP}, "ativo"),
        ({"corpo_mensagem": None}, "corpo_mensagem"),
        ({"corpo_mensagem": _DROP}, "corpo_mensagem"),
        ({"mensagens": "1001;5511900000001;A;11111111111;11"}, "mensagens"),
        ({"mensagens": [1]}, "mensagens"),
        ({"mensagens": []}, "mensagens"),
        ({"mensagens": _DROP}, "mensagens"),
    ],
)
async def test_body_validation(
    client: httpx.AsyncClient, sim: CdaSimulator, changes: dict[str, Any], campo: str
) -> None:
    response = await client.post(IMPORT_PATH, json=_with(**changes))
    assert response.status_code == 422
    body = response.json()
    assert body["sucesso"] is False
    assert body["campo"] == campo
    assert body["mensagem"].startswith(f"Campo inválido: {campo}")
    assert sim.imported == []


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("1001;5511900000003;CLIENTE;33333333333;33", True),
        ("1001;5511900000003;;;", True),  # empty nome and cpf: ultimos2 ""
        ("77;551190000000;CLIENTE;12345678000199;99", True),
        ("1001;5511900000003;CLIENTE;33333333333", False),  # four fields
        ("1001;5511900000003;CLIENTE;X;33333333333;33", False),  # six fields
        ("1001;11900000003;CLIENTE;33333333333;33", False),  # no 55
        ("1001;55 11900000003;CLIENTE;33333333333;33", False),  # not digits
        ("1001;;CLIENTE;33333333333;33", False),
        ("1001;5511900000003;CLIENTE;33333333333;34", False),  # wrong ultimos2
        ("1001;5511900000003;CLIENTE;33333333333;", False),
        ("1001;5511900000003;CLIENTE;;33", False),
    ],
)
async def test_line_validation(
    client: httpx.AsyncClient, sim: CdaSimulator, line: str, ok: bool
) -> None:
    body = _with(mensagens=[GOOD["mensagens"][0], line])
    response = await client.post(IMPORT_PATH, json=body)
    if ok:
        assert response.status_code == 200
        assert response.json()["total"] == 2
    else:
        assert response.status_code == 422
        assert response.json() == {"sucesso": False, "mensagem": "Linha inválida", "linha": 2}
        assert sim.imported == []


@pytest.mark.parametrize("content", [b"", b"{nope", b"[1, 2]", b'"texto"'])
async def test_not_a_json_object(
    client: httpx.AsyncClient, sim: CdaSimulator, content: bytes
) -> None:
    response = await client.post(
        IMPORT_PATH, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["sucesso"] is False
    assert len(sim.requests) == 1
    assert sim.requests[0].response_status == 400


async def test_fail_next_with_retry_after_then_recover(
    client: httpx.AsyncClient, sim: CdaSimulator
) -> None:
    sim.fail_next(503, count=2, retry_after=7)
    sim.fail_next(500, body={"erro": "interno"})
    answers = [await client.post(IMPORT_PATH, json=GOOD) for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 500, 200]
    assert answers[0].headers["retry-after"] == "7"
    assert answers[0].json() == {"sucesso": False, "mensagem": "Falha simulada (HTTP 503)"}
    assert "retry-after" not in answers[2].headers
    assert answers[2].json() == {"erro": "interno"}
    assert answers[3].json()["id_campanha"] == 9001
    assert len(sim.requests) == 4
    assert len(sim.imported) == 1


async def test_delay_next_times_the_client_out_but_still_imports(
    client: httpx.AsyncClient, sim: CdaSimulator
) -> None:
    sim.delay_next(0.2)
    with pytest.raises(httpx.ReadTimeout):
        await client.post(IMPORT_PATH, json=GOOD, timeout=0.05)
    for _ in range(50):
        if sim.imported:
            break
        await asyncio.sleep(0.02)
    assert [c.id_campanha for c in sim.imported] == [9001]
    quick = await client.post(IMPORT_PATH, json=GOOD)
    assert quick.json()["id_campanha"] == 9002


async def test_100k_lines(client: httpx.AsyncClient, sim: CdaSimulator) -> None:
    lines = [
        f"1001;55119{i:08d};CLIENTE EXEMPLO {i};{11111111111 + i};{(11111111111 + i) % 100:02d}"
        for i in range(100_000)
    ]
    response = await client.post(
        IMPORT_PATH,
        content=orjson.dumps(_with(mensagens=lines)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["total"] == 100_000
    assert sim.imported[0].mensagens[-1] == lines[-1]
