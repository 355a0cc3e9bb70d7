"""WordPress simulator -> API -> workers -> NOAH simulator -> webhooks (CONTRACTS 5.3)."""

from __future__ import annotations

import re

import pytest

from disparo.devstack import DevStack
from disparo.providers.noah.dev import DEV_NOAH_TOKEN
from disparo.providers.noah.mapper import CONTACT_KEYS
from disparo.providers.noah.simulator import BASE_PATH, NoahSimulator
from tests.conftest import StackFactory
from tests.e2e.helpers import campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e

CAMPAIGN = "N20250115093000"
WRAPPED = '{"original_message": "Olá {nome}, proposta nova.", "tracking_data": {"is_bait": true}}'


def noah(stack: DevStack) -> NoahSimulator:
    simulator: NoahSimulator = stack.simulators["NOAH"].simulator
    return simulator


async def test_import_with_the_integration_token(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 4, message=WRAPPED)

    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 4
    [request] = noah(stack).requests
    assert (request.method, request.path) == ("POST", BASE_PATH + "/contacts")
    assert request.headers["authorization"] == f"INTEGRATION {DEV_NOAH_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert re.fullmatch(r"campanha_\d{13}", request.json["name"])
    assert request.json["data"] == [
        {
            "telefone": row["telefone"],
            "nome": row["nome"],
            "idgis_ambiente": "1001",
            "idcob_contrato": row["idcob_contrato"],
            "cpf_cnpj": row["cpf_cnpj"],
            # Gen C's wrapper is unwrapped (2.1.1).
            "mensagem": f"Olá {row['nome']}, proposta nova.",
            "data_cadastro": row["data_cadastro"],
        }
        for row in rows
    ]
    assert all(tuple(contact) == CONTACT_KEYS for contact in request.json["data"])
    assert request.response_status == 201

    _, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert batches[0].provider_reference == request.json["name"]
    assert {m.status for m in messages} == {"SENT"}
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert (hooks[1]["total_enviados"], hooks[1]["total_falhas"], hooks[1]["provider"]) == (
        4,
        0,
        "NOAH",
    )
    assert '"imported":4' in hooks[1]["resposta_api"]
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}


async def test_gen_b_rows_get_the_env_id_as_idgis_ambiente(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 2, generation="B")
    # Gen B rows have no idgis_ambiente: the env id is their portfolio (3.2).
    stack.wordpress.set_credentials(
        "noah", {"url": noah_url(stack), "token": DEV_NOAH_TOKEN}, env_id="77"
    )

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED"
    data = noah(stack).requests[0].json["data"]
    assert [c["idgis_ambiente"] for c in data] == ["77", "77"]
    assert [c["data_cadastro"] for c in data] == [row["data_cadastro"] for row in rows]
    assert [c["mensagem"] for c in data] == [row["mensagem"] for row in rows]


async def test_bad_token_fails_once_with_erro_envio(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    stack.wordpress.set_credentials(
        "noah", {"url": noah_url(stack), "token": "wrong"}, env_id="1001"
    )

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED" and final["failed_messages"] == 3
    assert "Invalid integration token" in final["errors"][0]["error"]
    assert len(noah(stack).requests) == 1
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "erro_envio"]
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"erro"}


async def test_unavailable_then_accepted(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    noah(stack).fail_next(429, retry_after=1)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED"
    first, second = noah(stack).requests
    assert (first.response_status, second.response_status) == (429, 201)
    assert (second.received_at - first.received_at).total_seconds() >= 1.0  # Retry-After


async def test_missing_env_credentials_fail_with_erro_credenciais(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 2, env_id="2002")  # no NOAH block for 2002

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=1)

    assert final["status"] == "FAILED" and "NOAH:2002" in final["error_message"]
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == ["erro_credenciais"]
    assert noah(stack).requests == []


def noah_url(stack: DevStack) -> str:
    return stack.simulators["NOAH"].server.url + BASE_PATH
