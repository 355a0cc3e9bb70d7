"""Awkward input and awkward timing, each ending in a clear state (the review's findings)."""

from __future__ import annotations

import pytest

from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import BatchStatus, CampaignStatus, MessageStatus
from disparo.campaigns.sending import run_send
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


async def test_wordpress_down_at_send_time_ends_in_a_dead_letter(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, cda_max_attempts=2)
    stack.wordpress.fail_next("credentials", 503, count=10)

    await run_send(stack.runtime, campaign_id, 0)  # attempt 1: released for later
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert (batches[0].status, batches[0].attempts) == (BatchStatus.PENDING, 1)
    await run_send(stack.runtime, campaign_id, 0)  # attempt 2: spent

    campaign, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert batches[0].status == BatchStatus.FAILED
    assert "tentativas esgotadas" in (batches[0].last_error or "")
    assert campaign.status == CampaignStatus.FAILED
    assert {m.status for m in messages} == {MessageStatus.FAILED}
    assert await outbox_statuses(stack) == ["processando", "erro_credenciais"]
    assert stack.cda.requests == []


async def test_wrong_wordpress_key_at_send_time_is_not_retried(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory)
    stack.wordpress.fail_next("credentials", 401, count=1)

    await run_send(stack.runtime, campaign_id, 0)

    campaign, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert batches[0].status == BatchStatus.FAILED and batches[0].attempts == 0
    assert "DISPARO_WORDPRESS_API_KEY" in (campaign.error_message or "")
    assert await outbox_statuses(stack) == ["processando", "erro_credenciais"]


async def test_a_second_run_of_the_dispatch_job_changes_nothing(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory)
    stack.wordpress.add_campaign(CAMPAIGN, [])  # WordPress would now answer 404

    await run_dispatch(stack.runtime, campaign_id, last_attempt=True)

    campaign, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert campaign.status == CampaignStatus.QUEUED and len(batches) == 1
    assert len(messages) == 5
    assert await outbox_statuses(stack) == []


async def test_text_the_database_refuses_is_cleaned_not_fatal(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 3)
    rows[1]["nome"] = "CLIENTE\u0000 COM NUL"  # PostgreSQL refuses NUL in text
    rows[2]["cpf_cnpj"] = "222\u0000"
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 3
    lines = stack.cda.requests[0].json["mensagens"]
    assert lines[1].split(";")[2] == "CLIENTE COM NUL"
    assert lines[2].split(";")[3:] == ["222", "22"]


async def test_rows_that_are_not_objects_are_skipped_with_a_reason(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    rows: list[object] = list(stack.wordpress.seed_campaign(CAMPAIGN, 3))
    rows.insert(1, "not a row")
    rows.insert(3, 42)
    stack.wordpress.add_campaign(CAMPAIGN, rows)  # type: ignore[arg-type]

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert (final["total_messages"], final["sent_messages"], final["skipped_messages"]) == (
        5,
        3,
        2,
    )
    _, _, messages = await campaign_rows(stack, CAMPAIGN)
    skipped = [(m.row_index, m.skip_reason) for m in messages if m.status == MessageStatus.SKIPPED]
    assert skipped == [(1, "linha não é um objeto JSON"), (3, "linha não é um objeto JSON")]


async def test_every_batch_carries_the_campaigns_first_text(stack_factory: StackFactory) -> None:
    stack = await stack_factory(cda_batch_size=2)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 5)
    for index, row in enumerate(rows):
        row["mensagem"] = f"texto da linha {index}"
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)

    assert len(stack.cda.requests) == 3
    assert {r.json["corpo_mensagem"] for r in stack.cda.requests} == {"texto da linha 0"}
