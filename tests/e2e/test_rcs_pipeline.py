"""WordPress simulator -> API -> workers -> RCS simulators (and the SMS route) -> webhook.

Every test proves from the simulators' own records that nobody got both an RCS and an SMS.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import BatchStatus, MessageStatus
from disparo.campaigns.sending import run_send
from disparo.devstack import DevStack
from disparo.providers.rcs.dev import DEV_RCS_KEY, SAMPLE_MEDIA, rcs_sample_rows
from disparo.providers.rcs_otima.dev import DEV_OTIMA_TOKEN, otima_sample_rows
from tests.conftest import StackFactory
from tests.e2e.helpers import campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e

CROMOS = "R20250115093000"
OTIMA = "O20250115093000"
STATUS_CALLBACK = "https://disparo.example.com/callbacks/otima/status"


def sim(stack: DevStack, code: str) -> Any:
    return stack.simulators[code].simulator


def cda_phones(stack: DevStack) -> list[str]:
    """Phones the SMS route (the CDA simulator) was asked to message, once per request."""
    return [line.split(";")[1] for r in stack.cda.requests for line in r.json["mensagens"]]


def assert_each_reached_once(stack: DevStack, rcs_sim: Any, phones: set[str]) -> None:
    """Every phone got exactly one message, on exactly one channel, across all simulators;
    and, from the request logs, the SMS route only got phones the RCS provider answered it
    could not reach."""
    not_reached = {
        phone
        for request in rcs_sim.requests
        if request.response_status == 200
        for key in ("sem_rcs", "not_rcs_capable")
        for phone in request.response_body.get(key, [])
    }
    assert set(cda_phones(stack)) <= not_reached
    reached: dict[str, list[str]] = {p: list(ways) for p, ways in rcs_sim.deliveries.items()}
    for phone in cda_phones(stack):
        reached.setdefault(phone, []).append("SMS route")
    assert set(reached) == phones
    assert {phone: len(ways) for phone, ways in reached.items()} == dict.fromkeys(phones, 1)


def seed_cromos(stack: DevStack, count: int, *, odd_rows: bool = False) -> list[dict[str, Any]]:
    rows = rcs_sample_rows(CROMOS, count)
    if odd_rows:
        rows[2]["idcob_contrato"] = ""  # stays an empty positional column
        rows[5]["telefone"] = "123"  # invalid: SKIPPED, never sent
    stack.wordpress.add_campaign(CROMOS, rows)
    return rows


async def test_cromosapp_rcs_end_to_end_with_sms_fallback(stack_factory: StackFactory) -> None:
    stack = await stack_factory(rcs_sms_fallback_provider="CDA")
    rows = seed_cromos(stack, 7, odd_rows=True)
    rcs = sim(stack, "RCS")
    unreachable = {rows[1]["telefone"], rows[4]["telefone"]}
    rcs.not_rcs_capable |= unreachable

    assert (await dispatch(stack, CROMOS)).status_code == 202
    final = await wait_final(stack, CROMOS, webhooks=2)

    valid = [row for index, row in enumerate(rows) if index != 5]
    [request] = rcs.requests
    body = request.json
    assert re.fullmatch(r"campanha_1001_\d{13}", body.pop("nome"))
    assert body == {
        "chave_api": DEV_RCS_KEY,
        "codigo_equipe": "1001",
        "codigo_usuario": "1",
        "ativo": True,
        "corpo_mensagem": rows[0]["mensagem"],
        "midia_campanha": SAMPLE_MEDIA,
        "mensagens": [
            f"1;{r['telefone']};{r['nome']};{r['idcob_contrato']};{r['cpf_cnpj']}" for r in valid
        ],
    }
    assert ";;" in body["mensagens"][2]  # the empty contract id keeps its column
    # The SMS route got the two unreachable recipients, once, with the campaign's text.
    [sms] = stack.cda.requests
    assert sorted(cda_phones(stack)) == sorted(unreachable)
    assert sms.json["corpo_mensagem"] == rows[0]["mensagem"]
    assert_each_reached_once(stack, rcs, {r["telefone"] for r in valid})

    assert final["status"] == "COMPLETED"
    assert (final["sent_messages"], final["failed_messages"], final["skipped_messages"]) == (
        6,
        0,
        1,
    )
    _, batches, messages = await campaign_rows(stack, CROMOS)
    assert [(b.sequence, b.status, b.channel, b.sent_count) for b in batches] == [
        (0, BatchStatus.SENT, "RCS", 4),
        (1, BatchStatus.SENT, "SMS", 2),
    ]
    outcome = {m.phone: (m.status, m.channel) for m in messages if m.row_index != 5}
    assert outcome == {
        r["telefone"]: (MessageStatus.SENT, "SMS" if r["telefone"] in unreachable else "RCS")
        for r in valid
    }
    hooks = stack.wordpress.webhooks_for(CROMOS)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert (hooks[1]["total_enviados"], hooks[1]["total_falhas"]) == (6, 1)
    assert hooks[1]["provider"] == "RCS"


async def test_without_an_sms_route_unreachable_recipients_fail(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()  # DISPARO_RCS_SMS_FALLBACK_PROVIDER empty
    rows = seed_cromos(stack, 4)
    rcs = sim(stack, "RCS")
    rcs.not_rcs_capable.add(rows[0]["telefone"])

    await dispatch(stack, CROMOS)
    final = await wait_final(stack, CROMOS, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 3
    assert final["failed_messages"] == 1
    [error] = final["errors"]
    assert error["phone"] == rows[0]["telefone"]
    assert "não recebe RCS" in error["error"] and "nenhuma rota SMS" in error["error"]
    assert stack.cda.requests == []
    hooks = stack.wordpress.webhooks_for(CROMOS)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert (hooks[1]["total_enviados"], hooks[1]["total_falhas"]) == (3, 1)


async def test_the_sms_batch_is_retried_like_any_batch_and_rcs_is_never_resent(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(rcs_sms_fallback_provider="CDA")
    rows = seed_cromos(stack, 3)
    rcs = sim(stack, "RCS")
    rcs.not_rcs_capable.add(rows[1]["telefone"])
    stack.cda.fail_next(503)

    await dispatch(stack, CROMOS)
    final = await wait_final(stack, CROMOS, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 3
    assert [r.response_status for r in stack.cda.requests] == [503, 200]
    assert len(rcs.requests) == 1
    assert cda_phones(stack) == [rows[1]["telefone"]] * 2  # refused, then accepted: one SMS
    assert [len(c.mensagens) for c in stack.cda.imported] == [1]
    _, batches, _ = await campaign_rows(stack, CROMOS)
    assert [(b.channel, b.attempts) for b in batches] == [("RCS", 1), ("SMS", 2)]


async def test_unknown_sms_outcome_is_never_resent(stack_factory: StackFactory) -> None:
    stack = await stack_factory(rcs_sms_fallback_provider="CDA", cda_timeout=0.5)
    rows = seed_cromos(stack, 3)
    sim(stack, "RCS").not_rcs_capable.add(rows[0]["telefone"])
    stack.cda.delay_next(1.5)

    await dispatch(stack, CROMOS)
    final = await wait_final(stack, CROMOS, webhooks=2)

    assert final["status"] == "COMPLETED" and final["unknown_messages"] == 1
    _, _, messages = await campaign_rows(stack, CROMOS)
    unknown = [m for m in messages if m.status == MessageStatus.UNKNOWN]
    assert [(m.phone, m.channel) for m in unknown] == [(rows[0]["telefone"], "SMS")]
    await asyncio.sleep(1.5)  # longer than the route's delayed answer: no resend came
    assert len(stack.cda.requests) == 1


def without_fallback(mensagem: str) -> str:
    data = json.loads(mensagem)
    del data["fallback"]
    return json.dumps(data, ensure_ascii=False)


async def test_otima_rcs_end_to_end_grouped_chunked_with_both_fallbacks(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(
        rcs_sms_fallback_provider="CDA",
        rcs_otima_batch_size=3,
        rcs_otima_status_callback_url=STATUS_CALLBACK,
    )
    rows = otima_sample_rows(OTIMA, 9)
    rows[2]["mensagem"] = without_fallback(rows[2]["mensagem"])
    # no customer code anywhere: skipped (the dev credentials have none either)
    rows[8]["mensagem"] = json.dumps({"template_code": "x", "customer_code": ""})
    rows[8]["id_carteira"] = ""
    stack.wordpress.add_campaign(OTIMA, rows)
    otima = sim(stack, "RCS_OTIMA")
    otima.not_rcs_capable |= {rows[2]["telefone"], rows[3]["telefone"]}

    assert (await dispatch(stack, OTIMA)).status_code == 202
    final = await wait_final(stack, OTIMA, webhooks=2)

    requests = sorted(otima.requests, key=lambda r: r.json["messages"][0]["phone"])
    groups = [(r.json["customer_code"], [m["phone"] for m in r.json["messages"]]) for r in requests]
    phone = [row["telefone"] for row in rows]
    assert groups == [
        ("77", [phone[0], phone[2], phone[4]]),
        ("78", [phone[1], phone[3], phone[5]]),
        ("77", [phone[6]]),
        ("78", [phone[7]]),
    ]
    for request in requests:
        assert request.path == "/v1/rcs/bulk/message/template"
        assert request.headers["authorization"] == DEV_OTIMA_TOKEN
        assert request.json["broker_code"] == "broker_exemplo"
        assert request.json["template_code"] == "modelo_cobranca_v1"
    first = requests[0].json["messages"][0]
    assert first == {
        "phone": phone[0],
        "document": rows[0]["cpf_cnpj"],
        "variables": {
            "-nome-": rows[0]["nome"], "nome": rows[0]["nome"],
            "-contrato-": rows[0]["idcob_contrato"], "contrato": rows[0]["idcob_contrato"],
            "-canal-": "RCS", "canal": "RCS",
        },
        "extra_fields": first["extra_fields"],
        "fallback": {"type": "SMS", "message": "Proposta disponível para o seu contrato."},
        "url_callback_status": STATUS_CALLBACK,
    }  # fmt: skip
    assert first["extra_fields"]["CPF_PADRAO"] == "111.111.111-11"
    assert "fallback" not in requests[0].json["messages"][1]  # row 2 has none
    # Row 3: the provider's own SMS fallback. Row 2: no fallback, re-sent by the SMS route.
    assert otima.deliveries[phone[3]] == ["SMS"]
    assert cda_phones(stack) == [phone[2]]
    assert (
        stack.cda.requests[0].json["corpo_mensagem"] == "Proposta disponível para o seu contrato."
    )
    assert_each_reached_once(stack, otima, set(phone[:8]))

    assert final["status"] == "COMPLETED"
    assert (final["sent_messages"], final["skipped_messages"]) == (8, 1)
    _, batches, messages = await campaign_rows(stack, OTIMA)
    assert [(b.sequence, b.channel, b.message_count) for b in batches] == [
        (0, "RCS", 3), (1, "RCS", 3), (2, "RCS", 1), (3, "RCS", 1), (4, "SMS", 1),
    ]  # fmt: skip
    by_phone = {m.phone: (m.status, m.channel) for m in messages}
    assert by_phone[phone[2]] == by_phone[phone[3]] == (MessageStatus.SENT, "SMS")
    assert {by_phone[p] for i, p in enumerate(phone[:8]) if i not in (2, 3)} == {
        (MessageStatus.SENT, "RCS")
    }
    skipped = [m for m in messages if m.status == MessageStatus.SKIPPED]
    assert [m.skip_reason for m in skipped] == [
        "sem customer_code (na mensagem, no id_carteira ou nas credenciais)"
    ]
    hooks = stack.wordpress.webhooks_for(OTIMA)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert (hooks[1]["total_enviados"], hooks[1]["total_falhas"]) == (8, 1)
    assert hooks[1]["provider"] == "RCS_OTIMA"


async def test_otima_empty_template_variable_fails_the_batch(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    rows = stack.wordpress.seed_campaign(OTIMA, 2)
    for row in rows:
        row["mensagem"] = json.dumps(
            {"template_code": "t", "variables_map": {"v": {"type": "field", "value": "nada"}}}
        )
    stack.wordpress.add_campaign(OTIMA, rows)

    await dispatch(stack, OTIMA)
    final = await wait_final(stack, OTIMA, webhooks=2)

    assert final["status"] == "FAILED" and final["failed_messages"] == 2
    assert "variável 'v'" in final["error_message"]
    assert sim(stack, "RCS_OTIMA").requests == []
    assert [h["status"] for h in stack.wordpress.webhooks_for(OTIMA)] == [
        "processando",
        "erro_envio",
    ]


async def test_an_sms_batch_whose_route_was_removed_fails_with_the_reason(
    stack_factory: StackFactory,
) -> None:
    """Driven step by step (no worker): the route is unconfigured between the RCS answer and
    the SMS send, as a redeploy with other settings would do."""
    stack = await stack_factory(with_worker=False, rcs_sms_fallback_provider="CDA")
    rows = seed_cromos(stack, 3)
    sim(stack, "RCS").not_rcs_capable.add(rows[2]["telefone"])
    await dispatch(stack, CROMOS)
    campaign, _, _ = await campaign_rows(stack, CROMOS)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    await run_send(stack.runtime, campaign.id, 0)
    _, batches, _ = await campaign_rows(stack, CROMOS)
    assert [(b.sequence, b.status, b.channel) for b in batches] == [
        (0, BatchStatus.SENT, "RCS"),
        (1, BatchStatus.PENDING, "SMS"),
    ]

    stack.runtime.settings = stack.runtime.settings.model_copy(
        update={"rcs_sms_fallback_provider": ""}
    )
    await run_send(stack.runtime, campaign.id, 1)

    final, batches, messages = await campaign_rows(stack, CROMOS)
    assert batches[1].status == BatchStatus.FAILED
    assert batches[1].last_error == (
        "rota SMS não configurada ou não atendida (DISPARO_RCS_SMS_FALLBACK_PROVIDER='')"
    )
    [failed] = [m for m in messages if m.status == MessageStatus.FAILED]
    assert (failed.phone, failed.channel) == (rows[2]["telefone"], "SMS")
    assert (final.status, final.sent_messages, final.failed_messages) == ("COMPLETED", 2, 1)
    assert stack.cda.requests == []
