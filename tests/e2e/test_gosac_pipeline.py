"""WordPress simulator -> API -> workers -> GOSAC simulator -> webhooks, with the delayed
start step (CONTRACTS 5.2), on PostgreSQL and SQLite."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from disparo.campaigns import reconciler
from disparo.campaigns.models import BatchStatus, BatchStep, MessageStatus, ProviderBatch
from disparo.db.base import utcnow
from disparo.devstack import DevStack
from disparo.providers.gosac.dev import DEV_GOSAC_TOKEN
from disparo.providers.gosac.mapper import NO_NAME
from disparo.providers.gosac.simulator import GosacSimulator
from disparo.queues.names import step_job_id
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import campaign_rows, dispatch, startup_reconcile_done, wait_final

pytestmark = pytest.mark.e2e

CAMPAIGN = "G20250115093000"
FIXED: dict[str, Any] = {
    "kind": "whats",
    "connectionId": None,
    "defaultQueueId": 1,
    "initialMinutes": 480,
    "endMinutes": 1140,
    "customProps": [],
    "scheduled": False,
    "speed": "low",
    "tagId": 0,
    "templateId": None,
}


def gosac(stack: DevStack) -> GosacSimulator:
    simulator: GosacSimulator = stack.simulators["GOSAC"].simulator
    return simulator


async def start_batch(stack: DevStack) -> Any:
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    return next((b for b in batches if b.step == BatchStep.START), None)


async def wait_start_done(stack: DevStack, timeout: float = 20) -> Any:
    async def done() -> bool:
        batch = await start_batch(stack)
        return batch is not None and batch.status in (BatchStatus.SENT, BatchStatus.FAILED)

    await wait_for(done, timeout=timeout)
    return await start_batch(stack)


async def test_create_then_start_after_the_delay(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=1.0)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 6)
    rows[4]["nome"] = ""  # GOSAC needs a name: left out, counted as failed
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack)

    assert final["status"] == "COMPLETED"
    assert (final["sent_messages"], final["failed_messages"]) == (5, 1)
    create, put = gosac(stack).requests
    assert (create.method, create.path) == ("POST", "/api/campaigns")
    assert create.headers["authorization"] == DEV_GOSAC_TOKEN  # raw, no Bearer
    assert create.headers["content-type"] == "application/json"
    assert create.headers["accept"] == "application/json"
    assert create.headers["user-agent"] == "Mozilla/5.0"
    body = create.json
    assert {name: body[name] for name in FIXED} == FIXED
    assert body["message"] == rows[0]["mensagem"]
    assert re.fullmatch(r"campanha_\d{13}_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z", body["name"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["scheduledAt"])
    assert body["contacts"] == [
        {"name": row["nome"], "number": row["telefone"], "hasWhatsapp": True}
        for index, row in enumerate(rows)
        if index != 4
    ]
    assert (put.method, put.path, put.json) == ("PUT", "/api/campaigns/4321/status/started", {})
    assert put.headers["authorization"] == DEV_GOSAC_TOKEN
    assert put.headers["content-type"] == "application/json"
    assert (put.received_at - create.received_at).total_seconds() >= 1.0
    assert put.response_status == 200

    _, batches, messages = await campaign_rows(stack, CAMPAIGN)
    send = next(b for b in batches if b.step == BatchStep.SEND)
    assert (send.status, send.provider_reference, send.sent_count) == (BatchStatus.SENT, "4321", 5)
    assert (start.status, start.provider_reference, start.attempts) == (
        BatchStatus.SENT,
        "4321",
        1,
    )
    statuses = {m.row_index: (m.status, m.error) for m in messages}
    assert statuses[4] == (MessageStatus.FAILED, NO_NAME)
    assert {statuses[i][0] for i in (0, 1, 2, 3, 5)} == {MessageStatus.SENT}
    # The start's success needs no webhook (rows are already `enviado`); never `iniciado`.
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado"]
    assert (hooks[1]["total_enviados"], hooks[1]["total_falhas"]) == (5, 1)
    assert hooks[1]["provider"] == "GOSAC" and "4321" in hooks[1]["resposta_api"]
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}


async def test_each_created_campaign_gets_its_own_start(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_batch_size=2, gosac_start_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 4)

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)

    async def both_started() -> bool:
        _, batches, _ = await campaign_rows(stack, CAMPAIGN)
        starts = [b for b in batches if b.step == BatchStep.START]
        return len(starts) == 2 and all(b.status == BatchStatus.SENT for b in starts)

    await wait_for(both_started)
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    references = {(b.step, b.sequence): b.provider_reference for b in batches}
    assert {references[(BatchStep.SEND, 0)], references[(BatchStep.SEND, 1)]} == {"4321", "4322"}
    for sequence in (0, 1):  # each start names the campaign its own send created
        assert references[(BatchStep.START, sequence)] == references[(BatchStep.SEND, sequence)]
    assert sorted(r.path for r in gosac(stack).requests_to("start")) == [
        "/api/campaigns/4321/status/started",
        "/api/campaigns/4322/status/started",
    ]
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == [
        "processando",
        "enviado",
    ]


@pytest.mark.parametrize("id_shape", ["data.id", "campaignId"])
async def test_already_started_answer_counts_as_success(
    stack_factory: StackFactory, id_shape: str
) -> None:
    stack = await stack_factory(gosac_start_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    gosac(stack).id_shape = id_shape  # type: ignore[assignment]
    already = {"message": "Campaign already started", "status": "started"}
    gosac(stack).fail_next(400, body=already, route="start")

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack)

    assert start.status == BatchStatus.SENT and "já iniciada" in start.response
    assert [r.path for r in gosac(stack).requests_to("start")] == [
        "/api/campaigns/4321/status/started"
    ]
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == [
        "processando",
        "enviado",
    ]


async def test_creation_that_already_started_skips_the_start(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    gosac(stack).started_on_create = True

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack)

    assert start.status == BatchStatus.SENT and "início não enviado" in start.response
    assert gosac(stack).requests_to("start") == []


async def test_start_refused_sends_erro_inicio(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    gosac(stack).fail_next(403, body={"message": "Forbidden: start requires admin"}, route="start")

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack)
    await wait_for(hooks_at_least(stack, 3))

    assert start.status == BatchStatus.FAILED and "403" in start.last_error
    assert len(gosac(stack).requests_to("start")) == 1  # a refusal is not retried
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado", "erro_inicio"]
    assert hooks[2]["provider"] == "GOSAC" and "403" in hooks[2]["resposta_api"]
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"erro"}
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    assert campaign.status == "COMPLETED" and "start" in (campaign.error_message or "")


async def test_start_unavailable_is_retried(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    gosac(stack).fail_next(503, count=2, route="start")

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack)

    assert start.status == BatchStatus.SENT and start.attempts == 3
    assert [r.response_status for r in gosac(stack).requests_to("start")] == [503, 503, 200]
    assert len(stack.wordpress.webhooks_for(CAMPAIGN)) == 2


async def test_start_unavailable_until_attempts_run_out(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=0.5, gosac_start_max_attempts=2)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    gosac(stack).fail_next(500, count=5, route="start")

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack)
    await wait_for(hooks_at_least(stack, 3))

    assert start.status == BatchStatus.FAILED and "tentativas esgotadas" in start.last_error
    assert len(gosac(stack).requests_to("start")) == 2
    assert stack.wordpress.webhooks_for(CAMPAIGN)[-1]["status"] == "erro_inicio"


async def test_start_disabled_sends_no_start(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_enabled=False, gosac_start_delay=0.2)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "COMPLETED"
    assert await start_batch(stack) is None
    assert [r.route for r in gosac(stack).requests] == ["create"]


async def test_create_without_an_id_fails_and_starts_nothing(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=0.2)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    gosac(stack).id_shape = "none"

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED"
    assert "ID da campanha não encontrado" in final["errors"][0]["error"]
    assert await start_batch(stack) is None
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == [
        "processando",
        "erro_envio",
    ]


async def test_a_start_lost_from_redis_is_reenqueued_when_due(
    stack_factory: StackFactory,
) -> None:
    """The due time lives in the database: a flushed Redis does not lose the start."""
    # Room for the checks between the campaign's end and the start falling due.
    stack = await stack_factory(gosac_start_delay=6.0, reconcile_grace=0)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    job_id = step_job_id(campaign.id, "start", 0, 0)
    queue = stack.runtime.queues.queue("gosac-start")
    assert await queue.getJobState(job_id) == "delayed"
    await startup_reconcile_done(stack)

    await queue.remove(job_id)  # what a flushed Redis does to it
    assert await reconciler.reconcile(stack.runtime) == 0  # not due yet: nothing to repair
    await wait_for(start_due(stack), timeout=15)
    # At least the stale start is repaired (a loaded machine may let it repair more).
    assert await reconciler.reconcile(stack.runtime) >= 1
    start = await wait_start_done(stack)

    assert start.status == BatchStatus.SENT
    assert len(gosac(stack).requests_to("start")) == 1


async def test_a_start_whose_worker_died_runs_again(
    stack_factory: StackFactory,
) -> None:
    """A start left SENDING by a dead worker is idempotent ("already started" is success), so
    the reconciler puts it back to run, instead of leaving it stuck."""
    # Stale after its timeout plus its wait for a rate-limit slot (steps.claim_deadline).
    stack = await stack_factory(
        gosac_start_delay=60.0,
        gosac_start_timeout=0.5,
        rate_limit_max_wait=1.0,
        stale_send_margin=0,
    )
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    claimed = await start_batch(stack)
    await startup_reconcile_done(stack)
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(  # what a worker that died mid-request leaves behind
            update(ProviderBatch)
            .where(ProviderBatch.id == claimed.id)
            .values(
                status=BatchStatus.SENDING, attempts=1, claimed_at=utcnow() - timedelta(seconds=5)
            )
        )

    # At least the stale start is repaired (a loaded machine may let it repair more).
    assert await reconciler.reconcile(stack.runtime) >= 1
    start = await wait_start_done(stack)

    assert (start.status, start.attempts) == (BatchStatus.SENT, 2)
    assert len(gosac(stack).requests_to("start")) == 1


@pytest.mark.slow
async def test_start_delayed_more_than_12_seconds_runs(stack_factory: StackFactory) -> None:
    stack = await stack_factory(gosac_start_delay=13.0)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    start = await wait_start_done(stack, timeout=45)

    create, put = gosac(stack).requests
    waited = (put.received_at - create.received_at).total_seconds()
    assert start.status == BatchStatus.SENT and 13.0 <= waited <= 30, waited


def hooks_at_least(stack: DevStack, count: int) -> Callable[[], Awaitable[bool]]:
    async def enough() -> bool:
        return len(stack.wordpress.webhooks_for(CAMPAIGN)) >= count

    return enough


def start_due(stack: DevStack) -> Callable[[], Awaitable[bool]]:
    async def due() -> bool:
        batch = await start_batch(stack)
        return bool(batch.due_at is not None and batch.due_at < utcnow())

    return due
