"""WordPress simulator -> API -> workers -> Ótima WhatsApp simulator -> webhooks
(CONTRACTS 5.7), on PostgreSQL and SQLite."""

from __future__ import annotations

import json

import pytest

from disparo.devstack import DevStack
from disparo.providers.whatsapp_otima.dev import DEV_BROKER, DEV_TOKEN, sample_rows
from disparo.providers.whatsapp_otima.simulator import (
    API_PREFIX,
    HSM_PATH,
    WhatsappOtimaSimulator,
)
from tests.conftest import StackFactory
from tests.e2e.helpers import campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e

CAMPAIGN = "W20250115093000"


def otima(stack: DevStack) -> WhatsappOtimaSimulator:
    simulator: WhatsappOtimaSimulator = stack.simulators["WHATSAPP_OTIMA"].simulator
    return simulator


async def test_a_template_campaign_reaches_every_recipient(stack_factory: StackFactory) -> None:
    stack = await stack_factory(whatsapp_otima_batch_size=3)
    rows = sample_rows(CAMPAIGN, 5)
    rows[4]["telefone"] = "5521900000005"
    otima(stack).without_whatsapp.add("21900000005")
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert (final["status"], final["sent_messages"], final["failed_messages"]) == (
        "COMPLETED",
        4,
        1,
    )
    requests = otima(stack).requests
    assert len(requests) == 2  # batches of at most 3: one request each
    for request in requests:
        assert (request.method, request.path) == ("POST", API_PREFIX + HSM_PATH)
        assert request.headers["authorization"] == DEV_TOKEN
        assert request.response_status == 200
    # The two batches go out concurrently: read the messages in row order.
    sent = sorted(
        (m for request in requests for m in request.json["messages"]),
        key=lambda message: message["document"],
    )
    assert {r.json["template_code"] for r in requests} == {"modelo_whatsapp_v1"}
    assert {(r.json["broker_code"], r.json["customer_code"]) for r in requests} == {
        (DEV_BROKER, "77")
    }
    assert [m["whatsapp"] for m in sent] == [row["telefone"].removeprefix("55") for row in rows]
    assert [m["variables"] for m in sent] == [
        {"nome": row["nome"], "contrato": row["idcob_contrato"], "empresa": "Empresa Exemplo"}
        for row in rows
    ]
    assert [m["document"] for m in sent] == [row["cpf_cnpj"] for row in rows]
    assert [m.get("date") for m in sent] == [row.get("data_cadastro") for row in rows]

    _, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert [(b.status, b.message_count) for b in batches] == [("SENT", 3), ("SENT", 2)]
    statuses = {m.phone: (m.status, m.error) for m in messages}
    assert statuses == {
        **{row["telefone"]: ("SENT", None) for row in rows[:4]},
        "5521900000005": ("FAILED", "Ótima: Número sem WhatsApp"),
    }
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert (hooks[1]["total_enviados"], hooks[1]["total_falhas"], hooks[1]["provider"]) == (
        4,
        1,
        "WHATSAPP_OTIMA",
    )
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}


async def test_a_sender_number_too_short_fails_with_erro_credenciais(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    rows = sample_rows(CAMPAIGN, 2)
    for row in rows:
        row["mensagem"] = json.dumps(json.loads(row["mensagem"]) | {"broker_code": "1234"})
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=1)

    # Checked while the rows are read, before any batch exists: nothing is ever sent.
    assert final["status"] == "FAILED" and final["sent_messages"] == 0
    assert otima(stack).requests == []
    [hook] = stack.wordpress.webhooks_for(CAMPAIGN)
    assert hook["status"] == "erro_credenciais"
    assert "broker_code" in final["error_message"]


async def test_a_provider_outage_is_retried_then_sent_once(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.add_campaign(CAMPAIGN, sample_rows(CAMPAIGN, 2))
    otima(stack).fail_next(503, count=2)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert (final["status"], final["sent_messages"]) == ("COMPLETED", 2)
    assert [r.response_status for r in otima(stack).requests] == [503, 503, 200]
    assert len(otima(stack).delivered) == 2  # nobody got it twice


async def test_a_campaign_without_a_template_fails_with_erro_validacao(
    stack_factory: StackFactory,
) -> None:
    """CONTRACTS 5.7: no template code in the message or the credentials → erro_validacao,
    and nothing reaches Ótima."""
    stack = await stack_factory()
    rows = sample_rows(CAMPAIGN, 2)
    for row in rows:
        mensagem = json.loads(row["mensagem"])
        del mensagem["template_code"]
        row["mensagem"] = json.dumps(mensagem)
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED" and final["sent_messages"] == 0
    assert otima(stack).requests == []
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "erro_validacao"]
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert [b.status for b in batches] == ["FAILED"]
    assert "template_code" in str(batches[0].last_error)
