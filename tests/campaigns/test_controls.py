"""Campaign controls and dead letters, driven through the whole stack and the CDA simulator."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from disparo.campaigns import controls, deadletters
from disparo.campaigns.models import BatchStatus, CampaignStatus, MessageStatus
from disparo.campaigns.sending import run_send
from disparo.devstack import DevStack
from disparo.errors import Conflict, NotFound
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import (
    CAMPAIGN,
    campaign_rows,
    dispatch,
    ingested_campaign,
    outbox_statuses,
    wait_final,
)

pytestmark = pytest.mark.e2e


def _phones(stack: DevStack) -> list[str]:
    """Every recipient the CDA simulator received, duplicates included."""
    lines = [line for r in stack.cda.requests if r.json for line in r.json["mensagens"]]
    return [line.split(";")[1] for line in lines]


async def test_pause_stops_claiming_and_resume_finishes_from_the_database(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_batch_size=1, worker_concurrency=1)
    stack.wordpress.seed_campaign(CAMPAIGN, 8)
    stack.cda.delay_next(0.3, count=8)
    await dispatch(stack, CAMPAIGN)

    async def first_request() -> bool:
        return len(stack.cda.requests) >= 1

    await wait_for(first_request)

    paused = await controls.pause_campaign(stack.runtime, CAMPAIGN)
    again = await controls.pause_campaign(stack.runtime, CAMPAIGN)

    assert paused.changed and paused.paused and not again.changed
    await asyncio.sleep(0.6)  # the request in flight when paused finishes
    settled = len(stack.cda.requests)
    await asyncio.sleep(2.0)
    assert len(stack.cda.requests) == settled < 8
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert sum(b.status == BatchStatus.PENDING for b in batches) == 8 - settled

    resumed = await controls.resume_campaign(stack.runtime, CAMPAIGN)
    assert resumed.changed and resumed.batches == 8 - settled
    assert not (await controls.resume_campaign(stack.runtime, CAMPAIGN)).changed
    final = await wait_final(stack, CAMPAIGN, webhooks=4)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 8
    phones = _phones(stack)
    assert len(phones) == len(set(phones)) == 8
    assert await outbox_statuses(stack) == ["processando"] * 3 + ["enviado"]


async def test_cancel_leaves_no_job_and_no_pending_recipient(stack_factory: StackFactory) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=5, cda_batch_size=2)
    queue = stack.runtime.queues.queue("cda-send")
    assert len(await queue.getJobs(["waiting", "prioritized", "delayed"])) == 3

    result = await controls.cancel_campaign(stack.runtime, str(campaign_id))
    again = await controls.cancel_campaign(stack.runtime, CAMPAIGN)

    assert (result.changed, result.batches, result.recipients) == (True, 3, 5)
    assert not again.changed and again.status == CampaignStatus.CANCELLED
    assert await queue.getJobs(["waiting", "prioritized", "delayed", "active"]) == []
    campaign, batches, messages = await campaign_rows(stack, CAMPAIGN)
    assert campaign.status == CampaignStatus.CANCELLED and campaign.failed_messages == 5
    assert {b.status for b in batches} == {BatchStatus.CANCELLED}
    assert {m.status for m in messages} == {MessageStatus.FAILED}
    assert await outbox_statuses(stack) == ["erro_envio"]
    await run_send(stack.runtime, campaign_id, 0)  # a job that escaped removal sends nothing
    assert stack.cda.requests == []
    with pytest.raises(Conflict, match="terminou"):
        await controls.pause_campaign(stack.runtime, CAMPAIGN)
    with pytest.raises(Conflict, match="cancelada"):
        await controls.retry_failed(stack.runtime, CAMPAIGN)
    with pytest.raises(NotFound):
        await controls.cancel_campaign(stack.runtime, str(uuid.uuid4()))


async def test_a_dead_letter_is_listed_with_its_history_and_redriven(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_max_attempts=2)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    stack.cda.fail_next(500, count=2)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)

    where = deadletters.DeadLetterFilter(provider="cda", error="http 500")
    listed = await deadletters.list_dead_letters(stack.runtime, where)
    assert await deadletters.count_dead_letters(stack.runtime, where) == 1
    assert await deadletters.count_dead_letters(stack.runtime, where.__class__(error="401")) == 0
    letter = listed[0]
    assert (letter.agendamento_id, letter.recipients, letter.attempts) == (CAMPAIGN, 3, 2)
    assert [(h.attempt, h.outcome, h.status_code) for h in letter.history] == [
        (1, "retry", 500),
        (2, "dead_letter", 500),
    ]

    result = await deadletters.redrive_dead_letters(stack.runtime, where)
    assert (result.batches, result.recipients, result.batch_ids) == (1, 3, [letter.id])
    final = await wait_final(stack, CAMPAIGN, webhooks=4)

    assert final["status"] == "COMPLETED" and final["sent_messages"] == 3
    assert final["failed_messages"] == 0
    assert await outbox_statuses(stack) == ["processando", "erro_envio", "processando", "enviado"]
    assert await deadletters.count_dead_letters(stack.runtime) == 0
    with pytest.raises(NotFound):
        await deadletters.redrive_dead_letter(stack.runtime, letter.id)


async def test_retry_unknown_resends_on_the_operators_word(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    stack.cda.fail_next(504)
    await dispatch(stack, CAMPAIGN)
    first = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert first["unknown_messages"] == 2 and len(stack.cda.requests) == 1
    assert await deadletters.count_dead_letters(stack.runtime) == 0  # unknown is no dead letter

    result = await controls.retry_unknown(stack.runtime, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=4)

    assert (result.batches, result.recipients) == (1, 2)
    assert (final["status"], final["sent_messages"], final["unknown_messages"]) == (
        "COMPLETED",
        2,
        0,
    )
    assert not (await controls.retry_unknown(stack.runtime, CAMPAIGN)).changed


async def test_retry_failed_resends_a_rejected_batch(stack_factory: StackFactory) -> None:
    stack = await stack_factory(cda_batch_size=2)
    stack.wordpress.seed_campaign(CAMPAIGN, 4)
    stack.cda.fail_next(422)
    await dispatch(stack, CAMPAIGN)
    first = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert (first["sent_messages"], first["failed_messages"]) == (2, 2)
    assert await deadletters.count_dead_letters(stack.runtime) == 0  # rejected, not exhausted

    result = await controls.retry_failed(stack.runtime, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=4)

    assert result.batches == 1
    assert (final["sent_messages"], final["failed_messages"]) == (4, 0)
    phones = [p for r in stack.cda.requests[1:] for p in r.json["mensagens"]]
    assert len(phones) == 4
