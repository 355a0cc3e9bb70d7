"""Suppressed phones are never sent: SKIPPED `opt-out` at ingest, and at claim for a phone
suppressed while its campaign runs (batches not yet claimed), the counts kept exact."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from disparo.campaigns import row_plan
from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import BatchAttempt, BatchStatus, MessageStatus
from disparo.campaigns.preflight import run_preflight
from disparo.campaigns.sending import run_send
from disparo.devstack import DevStack
from disparo.suppressions import service
from disparo.suppressions.models import SuppressionSource
from tests.conftest import StackFactory
from tests.e2e.helpers import (
    CAMPAIGN,
    campaign_rows,
    dispatch,
    ingested_campaign,
    outbox_statuses,
    wait_final,
)

pytestmark = pytest.mark.e2e


async def _suppress(stack: DevStack, *phones: str) -> None:
    async with stack.runtime.sessions() as session, session.begin():
        for phone in phones:
            entry = service.NewSuppression(
                service.phone_or_error(phone), SuppressionSource.OPERATOR, "test"
            )
            assert await service.add(session, entry)


def _sent_phones(stack: DevStack) -> list[list[str]]:
    """The phones of each CDA request, in order (`equipe;phone;name;cpf;…` lines)."""
    return [[line.split(";")[1] for line in r.json["mensagens"]] for r in stack.cda.requests]


async def test_suppressed_recipients_are_skipped_at_ingest(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lookups of 3 rows: the 10 rows cross several chunk boundaries.
    monkeypatch.setattr(row_plan, "CHUNK_ROWS", 3)
    stack = await stack_factory(cda_batch_size=4)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 10)
    suppressed = {rows[1]["telefone"], rows[5]["telefone"], rows[9]["telefone"]}
    # Written differently from WordPress's rows: the normalised phone is what matches.
    digits = rows[5]["telefone"][2:]
    await _suppress(stack, rows[1]["telefone"], f"({digits[:2]}) {digits[2:]}", rows[9]["telefone"])

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    _, batches, messages = await campaign_rows(stack, CAMPAIGN)

    sent = [phone for request in _sent_phones(stack) for phone in request]
    assert len(sent) == 7 and not suppressed & set(sent)
    assert (final["status"], final["sent_messages"], final["skipped_messages"]) == (
        "COMPLETED",
        7,
        3,
    )
    skipped = {m.phone: m.skip_reason for m in messages if m.status == MessageStatus.SKIPPED}
    assert skipped == dict.fromkeys(suppressed, "opt-out")
    assert [b.message_count for b in batches] == [4, 3]


async def test_the_preflight_counts_the_opt_outs_the_dispatch_then_skips(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False, cda_batch_size=4)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 10)
    await _suppress(stack, rows[2]["telefone"], rows[7]["telefone"])

    report = await run_preflight(stack.runtime, CAMPAIGN)
    await dispatch(stack, CAMPAIGN)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    _, batches, messages = await campaign_rows(stack, CAMPAIGN)

    opted_out = sorted(m.row_index for m in messages if m.skip_reason == "opt-out")
    assert opted_out == [2, 7]
    by_reason = {reason.reason: reason.count for reason in report.skipped_by_reason}
    assert by_reason == {"opt-out": 2}
    assert [example.row for example in report.skipped_by_reason[0].examples] == [2, 7]
    assert (report.valid, report.batches) == (8, len(batches)) == (8, 2)


async def test_a_phone_suppressed_mid_campaign_is_not_sent_in_later_batches(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=6, cda_batch_size=2)
    _, _, messages = await campaign_rows(stack, CAMPAIGN)
    phones = [m.phone for m in sorted(messages, key=lambda m: m.id)]

    await run_send(stack.runtime, campaign_id, 0)
    # While it runs: one of batch 1's two phones, and both of batch 2's (and one already sent).
    await _suppress(stack, phones[0], phones[3], phones[4], phones[5])
    await run_send(stack.runtime, campaign_id, 1)
    await run_send(stack.runtime, campaign_id, 2)

    campaign, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert _sent_phones(stack) == [[phones[0], phones[1]], [phones[2]]]
    assert [(b.status, b.message_count, b.sent_count) for b in batches] == [
        (BatchStatus.SENT, 2, 2),
        (BatchStatus.SENT, 1, 1),
        (BatchStatus.CANCELLED, 0, 0),
    ]
    assert "opt-out" in (batches[2].last_error or "")
    by_phone = {m.phone: (m.status, m.skip_reason) for m in messages}
    assert by_phone[phones[0]] == (MessageStatus.SENT, None)  # sent before: stays sent
    for phone in phones[3:]:
        assert by_phone[phone] == (MessageStatus.SKIPPED, "opt-out")
    assert (campaign.status, campaign.total_messages) == ("COMPLETED", 6)
    assert (campaign.sent_messages, campaign.skipped_messages, campaign.failed_messages) == (
        3,
        3,
        0,
    )
    async with stack.runtime.sessions() as session:
        outcomes = await session.scalars(
            select(BatchAttempt.outcome).where(BatchAttempt.batch_id == batches[2].id)
        )
        assert list(outcomes) == ["opt-out"]


async def test_a_campaign_whose_every_recipient_opted_out_meanwhile_fails_as_data(
    stack_factory: StackFactory,
) -> None:
    """No request was made: WordPress hears erro_validacao, as for a campaign with no valid
    row at ingest, not erro_envio ("nothing accepted by the provider")."""
    stack, campaign_id = await ingested_campaign(stack_factory, count=4, cda_batch_size=2)
    _, _, messages = await campaign_rows(stack, CAMPAIGN)
    await _suppress(stack, *(m.phone for m in messages))
    await run_send(stack.runtime, campaign_id, 0)
    await run_send(stack.runtime, campaign_id, 1)

    campaign, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert stack.cda.requests == []
    assert {b.status for b in batches} == {BatchStatus.CANCELLED}
    assert (campaign.status, campaign.skipped_messages) == ("FAILED", 4)
    assert campaign.error_message == (
        "Nenhum destinatário a enviar: 0 enviadas, 0 com falha, 4 ignoradas (4 opt-out), "
        "0 sem confirmação"
    )
    assert (await outbox_statuses(stack))[-1] == "erro_validacao"
