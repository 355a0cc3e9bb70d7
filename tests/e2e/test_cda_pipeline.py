"""WordPress simulator -> API -> workers -> CDA simulator -> webhook, on PostgreSQL and SQLite."""

from __future__ import annotations

import re
from typing import Any

import pytest

from disparo.campaigns.models import BatchStatus, MessageStatus
from disparo.devstack import DevStack
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, api, campaign_rows, dispatch, status, wait_final

pytestmark = pytest.mark.e2e


def seed_with_bad_rows(stack: DevStack, agendamento_id: str, count: int) -> list[dict[str, Any]]:
    rows = stack.wordpress.seed_campaign(agendamento_id, count, generation="C")
    rows[3]["telefone"] = "abc"  # invalid
    rows[5]["telefone"] = ""  # missing
    rows[7]["telefone"] = rows[0]["telefone"]  # repeated
    rows[9]["nome"] = "NOME; COM\nQUEBRA"  # must be cleaned in the line
    stack.wordpress.add_campaign(agendamento_id, rows)
    return rows


def expected_line(row: dict[str, str]) -> str:
    cpf = row["cpf_cnpj"]
    fields = (row["idgis_ambiente"], row["telefone"], row["nome"], cpf, cpf[-2:])
    return ";".join(re.sub(r"[;\r\n]", " ", value) for value in fields)


async def test_campaign_end_to_end(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    rows = seed_with_bad_rows(stack, CAMPAIGN, 40)

    accepted = await dispatch(stack, CAMPAIGN, cda_credentials={"api_url": "x", "api_key": "y"})
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["success"] is True and body["agendamento_id"] == CAMPAIGN
    assert body["provider"] == "CDA" and body["status"] == "QUEUED"

    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert final["status"] == "COMPLETED"
    assert (final["total_messages"], final["sent_messages"], final["skipped_messages"]) == (
        40,
        37,
        3,
    )
    assert final["failed_messages"] == 0 and final["progress_percentage"] == 93
    assert "errors" not in final and final["completed_at"] and final["started_at"]

    # Exactly one request, exactly the contract's body.
    assert len(stack.cda.requests) == 1
    sent = stack.cda.requests[0].json
    valid = [row for index, row in enumerate(rows) if index not in (3, 5, 7)]
    assert sent["chave_api"] == "chave-dev-cda"
    assert sent["codigo_equipe"] == "1001" and sent["codigo_usuario"] == "1"
    assert re.fullmatch(r"campanha_1001_\d{13}", sent["nome"])
    assert sent["ativo"] is True
    assert sent["corpo_mensagem"] == rows[0]["mensagem"]
    assert sent["mensagens"] == [expected_line(row) for row in valid]
    assert stack.cda.requests[0].headers["content-type"] == "application/json"

    campaign, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert [(b.status, b.attempts, b.sent_count) for b in batches] == [(BatchStatus.SENT, 1, 37)]
    assert batches[0].provider_reference == "9001"
    by_status = {m.row_index: m.status for m in messages}
    assert {by_status[i] for i in (3, 5, 7)} == {MessageStatus.SKIPPED}
    assert sum(1 for s in by_status.values() if s == MessageStatus.SENT) == 37
    reasons = {m.row_index: m.skip_reason for m in messages if m.skip_reason}
    assert reasons[5] == "telefone ausente" and reasons[7] == "telefone repetido na campanha"
    assert reasons[3].startswith("telefone inválido")
    assert all(m.sent_at is not None for m in messages if m.status == MessageStatus.SENT)
    assert campaign.env_id == "1001"

    async with api(stack) as client:
        sent_page = (
            await client.get(f"/campaigns/{CAMPAIGN}/messages?status=SENT&limit=30")
        ).json()
        rest = (
            await client.get(
                f"/campaigns/{CAMPAIGN}/messages?status=SENT&after={sent_page['next_after']}"
            )
        ).json()
        skipped = (await client.get(f"/campaigns/{CAMPAIGN}/messages?status=SKIPPED")).json()
    assert len(sent_page["items"]) == 30 and len(rest["items"]) == 7 and rest["next_after"] is None
    assert {item["status"] for item in sent_page["items"] + rest["items"]} == {"SENT"}
    assert all(item["sent_at"] and item["attempts"] == 1 for item in sent_page["items"])
    assert [item["row_index"] for item in skipped["items"]] == [3, 5, 7]

    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert hooks[1]["total_enviados"] == 37 and hooks[1]["total_falhas"] == 3
    assert hooks[1]["provider"] == "CDA" and "9001" in hooks[1]["resposta_api"]
    # The panel keeps one status for all 40 rows: the summary says what became of them.
    summary = (
        "37 enviadas, 0 com falha, 3 ignoradas (1 telefone ausente, 1 telefone inválido, "
        "1 telefone repetido na campanha), 0 sem confirmação"
    )
    assert hooks[1]["resposta_api"].startswith(summary + "\n\n")
    assert hooks[1]["mensagem_progresso"] == f"Concluído: {summary}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", hooks[1]["data_disparo"])
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}


async def test_large_campaign_is_split_into_batches_sent_once(stack_factory: StackFactory) -> None:
    stack = await stack_factory(cda_batch_size=100)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 250)

    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 250
    sizes = sorted(len(r.json["mensagens"]) for r in stack.cda.requests)
    assert sizes == [50, 100, 100]
    phones = [line.split(";")[1] for r in stack.cda.requests for line in r.json["mensagens"]]
    assert sorted(phones) == sorted(row["telefone"] for row in rows)  # all, none twice
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert [(b.sequence, b.status, b.message_count) for b in batches] == [
        (0, BatchStatus.SENT, 100),
        (1, BatchStatus.SENT, 100),
        (2, BatchStatus.SENT, 50),
    ]
    hooks = [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)]
    assert hooks == ["processando", "enviado"]


async def test_dispatching_twice_sends_once(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 10)

    first, second = await dispatch(stack, CAMPAIGN), await dispatch(stack, CAMPAIGN)
    assert first.status_code == second.status_code == 202
    assert second.json()["message"] == "Campanha já existe na fila"
    assert second.json()["campaign_id"] == first.json()["campaign_id"]
    await wait_final(stack, CAMPAIGN, webhooks=2)

    again = await dispatch(stack, CAMPAIGN)
    assert again.json()["status"] == "COMPLETED"
    assert again.json()["campaign_id"] == first.json()["campaign_id"]
    assert len(stack.cda.requests) == 1


@pytest.mark.parametrize("answer", ["404", "empty"])
async def test_no_rows_fails_with_erro_validacao(stack_factory: StackFactory, answer: str) -> None:
    stack = await stack_factory()
    if answer == "empty":
        stack.wordpress.add_campaign(CAMPAIGN, [], empty_as_array=True)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=0)

    assert final["status"] == "FAILED"
    hooks = await _webhooks(stack, CAMPAIGN, 1)
    assert hooks[0]["status"] == "erro_validacao"
    assert stack.cda.requests == []


async def test_missing_credentials_fail_with_erro_credenciais(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.wordpress.set_credentials("cda", {"api_url": "http://127.0.0.1:9/x", "api_key": ""})

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=1)

    assert final["status"] == "FAILED" and "api_key" in final["error_message"]
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["erro_credenciais"]
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"erro"}


async def test_provider_rejection_is_final_and_not_retried(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.cda.fail_next(401, body={"sucesso": False, "mensagem": "Chave de API inválida"})

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED" and final["failed_messages"] == 5
    assert len(final["errors"]) == 5 and "401" in final["errors"][0]["error"]
    assert final["errors"][0]["attempts"] == 1
    assert len(stack.cda.requests) == 1
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "erro_envio"]
    assert hooks[1]["total_enviados"] == 0 and hooks[1]["total_falhas"] == 5


async def test_unavailable_provider_is_retried_then_succeeds(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.cda.fail_next(503, count=2)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 5
    assert [r.response_status for r in stack.cda.requests] == [503, 503, 200]
    _, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert batches[0].attempts == 3 and {m.attempts for m in messages} == {3}


async def test_timeout_after_sending_is_unknown_and_never_resent(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_timeout=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.cda.delay_next(1.5)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED" and final["unknown_messages"] == 5
    _, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert batches[0].status == BatchStatus.UNKNOWN
    assert {m.status for m in messages} == {MessageStatus.UNKNOWN}
    await _settle()
    assert len(stack.cda.requests) == 1  # the provider got it once, and only once


async def _webhooks(stack, agendamento_id: str, count: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Every webhook WordPress received, applied or not (an unknown id gets a 404)."""
    from tests.conftest import wait_for

    def received() -> list[dict[str, object]]:
        bodies = [hook.body for hook in stack.wordpress.webhooks]
        return [
            b for b in bodies if isinstance(b, dict) and b.get("agendamento_id") == agendamento_id
        ]

    async def arrived() -> bool:
        return len(received()) >= count

    await wait_for(arrived)
    return received()


async def _settle() -> None:
    import asyncio

    await asyncio.sleep(1.5)


async def test_status_by_agendamento_id(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    accepted = (await dispatch(stack, CAMPAIGN)).json()
    by_uuid = await status(stack, accepted["campaign_id"])
    by_agendamento = await status(stack, CAMPAIGN)
    assert by_uuid == by_agendamento
    assert by_uuid["status"] == "QUEUED" and by_uuid["progress_percentage"] == 0


async def test_a_campaigns_batches_share_one_credentials_request(
    stack_factory: StackFactory,
) -> None:
    """Ten batches, one question to WordPress for the send (DISPARO_CREDENTIALS_REUSE), not
    one per batch; the dispatch's own check before ingest is the other."""
    stack = await stack_factory(cda_batch_size=2)
    stack.wordpress.seed_campaign(CAMPAIGN, 20)
    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert final["sent_messages"] == 20 and len(stack.cda.requests) == 10
    assert stack.wordpress.requests_seen["credentials"] == 2
