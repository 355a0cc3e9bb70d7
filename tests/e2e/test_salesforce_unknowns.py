"""A Salesforce batch left UNKNOWN is settled by asking Core (a SOQL query for the batch's
contacts created since its claim), through the whole stack: the UNKNOWN happens for real
(the simulator creates the records, then a gateway gives up; or it answers too late), the
question goes out after DISPARO_UNKNOWN_RESOLVE_DELAY, and the campaign and WordPress end
with the exact totals. Found: SENT. None found: resent, once. Some found: the rest FAILED,
nothing resent. No answer: UNKNOWN, for an operator."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from disparo.campaigns.models import BatchAttempt, BatchStatus, BatchStep
from disparo.devstack import DevStack
from disparo.providers.salesforce.simulator import SalesforceSimulator
from tests.cli.test_operator_commands import _disparo
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import campaign_rows, dispatch, status, wait_final

pytestmark = pytest.mark.e2e

CAMPAIGN = "S20250115093000"
FAST = {"unknown_resolve_delay": 0.3, "salesforce_mkc_delay": 0.3}


def salesforce(stack: DevStack) -> SalesforceSimulator:
    simulator: SalesforceSimulator = stack.simulators["SALESFORCE"].simulator
    return simulator


async def history(stack: DevStack) -> list[tuple[str, str]]:
    """The send batch's history: (outcome, text), oldest first."""
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    sends = [b for b in batches if b.step == BatchStep.SEND]
    if not sends:
        return []  # not planned yet
    [send] = sends
    async with stack.runtime.sessions() as session:
        rows = await session.scalars(
            select(BatchAttempt).where(BatchAttempt.batch_id == send.id).order_by(BatchAttempt.id)
        )
        return [(row.outcome, row.error or "") for row in rows]


async def send_batch(stack: DevStack) -> Any:
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    return next(b for b in batches if b.step == BatchStep.SEND)


def statuses(stack: DevStack) -> list[str]:
    return [str(h["status"]) for h in stack.wordpress.webhooks_for(CAMPAIGN)]


async def settled(stack: DevStack, outcome: str, hooks: int) -> dict[str, Any]:
    """Wait for the answer `outcome` in the history and `hooks` webhooks at WordPress."""

    async def answered() -> bool:
        return any(o == outcome for o, _ in await history(stack)) and len(statuses(stack)) >= hooks

    await wait_for(answered, timeout=30)
    return await status(stack, CAMPAIGN)


async def test_records_created_behind_a_gateway_timeout_are_found_and_sent(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(**FAST)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 5)
    sim = salesforce(stack)
    sim.fail_after_creating(504)

    await dispatch(stack, CAMPAIGN)
    final = await settled(stack, "asked_sent", hooks=4)

    assert final["status"] == "COMPLETED"
    assert (final["sent_messages"], final["failed_messages"], final["unknown_messages"]) == (
        5,
        0,
        0,
    )
    # WordPress first heard the close with the batch UNKNOWN, then the corrected totals.
    assert statuses(stack) == ["processando", "erro_envio", "enviado", "mkc_executado"]
    enviado = stack.wordpress.webhooks_for(CAMPAIGN)[2]
    assert (enviado["total_enviados"], enviado["total_falhas"]) == (5, 0)
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}
    assert len(sim.requests_to("sobjects")) == 1 and len(sim.contacts) == 5
    [query] = sim.requests_to("query")  # one question, to Core's query endpoint
    assert query.path == "/services/data/v59.0/query"
    assert query.headers["authorization"].startswith("Bearer ")
    assert (await send_batch(stack)).status == BatchStatus.SENT
    outcomes = await history(stack)
    assert [o for o, _ in outcomes] == ["unknown", "asked_sent"]
    assert outcomes[1][1].startswith("consulta ao Salesforce: 5/5 contatos encontrados → SENT")
    _, _, messages = await campaign_rows(stack, CAMPAIGN)
    assert {m.status for m in messages} == {"SENT"}
    assert sorted(m.phone for m in messages) == sorted(r["telefone"] for r in rows)


async def test_some_found_are_sent_and_the_others_failed_never_resent(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(**FAST)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 5)
    sim = salesforce(stack)
    sim.rejected_phones = {rows[1]["telefone"], rows[3]["telefone"]}
    sim.fail_after_creating(504)

    await dispatch(stack, CAMPAIGN)
    final = await settled(stack, "asked_partial", hooks=4)

    assert final["status"] == "COMPLETED"
    assert (final["sent_messages"], final["failed_messages"], final["unknown_messages"]) == (
        3,
        2,
        0,
    )
    enviado = stack.wordpress.webhooks_for(CAMPAIGN)[2]
    assert (enviado["status"], enviado["total_enviados"], enviado["total_falhas"]) == (
        "enviado",
        3,
        2,
    )
    assert len(sim.requests_to("sobjects")) == 1
    batch = await send_batch(stack)
    assert (batch.status, batch.sent_count, batch.failed_count) == (BatchStatus.SENT, 3, 2)
    _, _, messages = await campaign_rows(stack, CAMPAIGN)
    failed = sorted(m.row_index for m in messages if m.status == "FAILED")
    assert failed == [1, 3]
    assert all("não criou este registro" in (m.error or "") for m in messages if m.error)
    [_, partial] = await history(stack)
    assert partial[1].startswith(
        "consulta ao Salesforce: 3/5 contatos encontrados → SENT; 2 não criados → FAILED"
    )


async def test_none_found_is_resent_exactly_once(stack_factory: StackFactory) -> None:
    stack = await stack_factory(**FAST)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 5)
    sim = salesforce(stack)
    sim.fail_next(504, route="sobjects")  # the gateway gave up before Salesforce acted

    await dispatch(stack, CAMPAIGN)
    final = await settled(stack, "sent", hooks=5)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 5
    assert len(sim.requests_to("sobjects")) == 2
    created = sorted(c.fields["MobilePhone"] for c in sim.contacts)
    assert created == sorted(r["telefone"] for r in rows)  # each contact exactly once
    assert [o for o, _ in await history(stack)] == ["unknown", "asked_resend", "redrive", "sent"]
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == [
        "processando",
        "erro_envio",
        "processando",
        "enviado",
        "mkc_executado",
    ]
    assert "Reenvio automático" in hooks[2]["mensagem_progresso"]


async def test_a_second_unknown_after_the_resend_stays_unknown(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(**FAST)
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    sim = salesforce(stack)
    sim.fail_next(504, count=2, route="sobjects")

    await dispatch(stack, CAMPAIGN)
    final = await settled(stack, "asked_absent", hooks=4)

    assert final["status"] == "FAILED" and final["unknown_messages"] == 5
    assert len(sim.requests_to("sobjects")) == 2 and sim.contacts == []
    assert len(sim.requests_to("query")) == 2
    outcomes = await history(stack)
    assert [o for o, _ in outcomes] == [
        "unknown",
        "asked_resend",
        "redrive",
        "unknown",
        "asked_absent",
    ]
    assert "já reenviado uma vez → continua UNKNOWN" in outcomes[-1][1]
    assert (await send_batch(stack)).status == BatchStatus.UNKNOWN
    assert statuses(stack)[-1] == "erro_envio"


async def test_an_unanswered_query_leaves_the_batch_unknown_with_the_reason(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(**FAST)
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    sim = salesforce(stack)
    sim.fail_after_creating(502)
    sim.fail_next(500, route="query")

    await dispatch(stack, CAMPAIGN)
    final = await settled(stack, "asked_no_answer", hooks=2)

    assert final["status"] == "FAILED" and final["unknown_messages"] == 5
    assert len(sim.requests_to("sobjects")) == 1 and len(sim.contacts) == 5
    [_, no_answer] = await history(stack)
    assert no_answer[1].startswith("consulta ao Salesforce sem resposta → continua UNKNOWN")
    assert "HTTP 500" in no_answer[1]
    batch = await send_batch(stack)
    assert batch.status == BatchStatus.UNKNOWN and "HTTP 500" in (batch.last_error or "")
    _, _, messages = await campaign_rows(stack, CAMPAIGN)
    assert all(m.status == "UNKNOWN" and "HTTP 500" in (m.error or "") for m in messages)
    token = sim.requests_to("token")[0].response_body["access_token"]
    assert token not in no_answer[1] and sim.account.password not in (batch.last_error or "")
    assert statuses(stack) == ["processando", "erro_envio"]


async def test_an_answer_too_late_for_the_read_timeout_is_found(
    stack_factory: StackFactory,
) -> None:
    """The records are created after the client gave up waiting (a read timeout): the
    question, asked after the delay, finds them."""
    stack = await stack_factory(unknown_resolve_delay=1.5, salesforce_timeout=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    salesforce(stack).delay_next(1.0, route="sobjects")

    await dispatch(stack, CAMPAIGN)
    final = await settled(stack, "asked_sent", hooks=3)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 3
    [unknown, _] = await history(stack)
    assert unknown[0] == "unknown" and "ReadTimeout" in unknown[1]
    assert len(salesforce(stack).contacts) == 3
    await wait_final(stack, CAMPAIGN, webhooks=3)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_cli_shows_the_answer(stack_factory: StackFactory) -> None:
    stack = await stack_factory(**FAST)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).fail_after_creating(504)
    await dispatch(stack, CAMPAIGN)
    await settled(stack, "asked_sent", hooks=3)

    code, out = await _disparo(stack, "status", CAMPAIGN)

    assert code == 0, out
    assert "UNKNOWN batches asked about" in out and "asked_sent" in out
    assert "2/2 contatos encontrados" in " ".join(out.split())
