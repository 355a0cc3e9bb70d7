"""The webhook outbox: capped backoff within a retry window, progress lines at a bounded rate,
undeliverable webhooks listed and replayed (API), the reconciler picking up a lost retry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from disparo.campaigns.reconciler import reconcile
from disparo.db.base import utcnow
from disparo.devstack import DevStack
from disparo.queues.names import QueueName, webhook_job_id
from disparo.wordpress.client import WebhookOutcome
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox
from disparo.wordpress.webhooks import _record
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import CAMPAIGN, api, dispatch, wait_final
from tests.support import clean_settings, settings_with

OTHER = "C20250115100000"

pytestmark = pytest.mark.e2e

DOWN = WebhookOutcome(delivered=False, retryable=True, detail="HTTP 503")


def _entry(attempts: int, retry_until_in_s: float) -> WebhookOutbox:
    now = utcnow()
    return WebhookOutbox(
        id=7,
        campaign_id=None,
        agendamento_id=CAMPAIGN,
        payload={"status": "enviado"},
        status=OutboxStatus.PENDING,
        attempts=attempts,
        created_at=now,
        retry_until=now + timedelta(seconds=retry_until_in_s),
    )


def test_backoff_doubles_and_is_capped() -> None:
    settings = settings_with(**{"webhook_retry_delay": 5.0, "webhook_retry_max_delay": 60.0})
    waits = []
    for attempts in range(12):
        entry = _entry(attempts, retry_until_in_s=86_400)
        assert _record(entry, DOWN, settings) is not None
        assert entry.next_attempt_at is not None
        waits.append((entry.next_attempt_at - utcnow()).total_seconds())
    assert all(wait <= 60.0 for wait in waits)
    assert waits[0] <= 5.0 and max(waits[8:]) > 25.0  # grew from 5 s to the 60 s cap (jitter)


def test_retries_stop_at_the_window_and_the_last_one_lands_on_it() -> None:
    settings = clean_settings()
    assert settings.webhook_retry_window >= 24 * 3600  # the default: at least a day
    near = _entry(attempts=40, retry_until_in_s=2)
    assert _record(near, DOWN, settings) is not None
    assert near.next_attempt_at is not None and near.next_attempt_at <= near.retry_until  # type: ignore[operator]
    spent = _entry(attempts=41, retry_until_in_s=-1)
    assert _record(spent, DOWN, settings) is None
    assert spent.status == OutboxStatus.FAILED and spent.attempts == 42


def test_a_refusal_fails_at_once() -> None:
    entry = _entry(attempts=0, retry_until_in_s=86_400)
    refused = WebhookOutcome(delivered=False, retryable=False, detail="HTTP 401: invalid_key")
    assert _record(entry, refused, clean_settings()) is None
    assert entry.status == OutboxStatus.FAILED and entry.last_error == "HTTP 401: invalid_key"


async def _outbox(stack) -> list[WebhookOutbox]:  # type: ignore[no-untyped-def]
    async with stack.runtime.sessions() as session:
        return list((await session.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id))).all())


async def test_undeliverable_webhooks_are_listed_and_replayed_in_order(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(webhook_retry_window=2.0, webhook_retry_max_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.wordpress.fail_next("webhook", 503, count=10_000)
    await dispatch(stack, CAMPAIGN)

    async def both_failed() -> bool:
        entries = await _outbox(stack)
        return len(entries) == 2 and all(e.status == OutboxStatus.FAILED for e in entries)

    await wait_for(both_failed, timeout=40)
    async with api(stack) as client:
        anonymous = await client.get("/webhooks/undeliverable", headers={"X-API-KEY": ""})
        assert anonymous.status_code == 401
        listed = (await client.get("/webhooks/undeliverable")).json()
        assert listed["total"] == 2
        processando, enviado = listed["items"]
        assert [processando["status"], enviado["status"]] == ["processando", "enviado"]
        assert processando["attempts"] >= 2 and "503" in processando["last_error"]
        assert not processando["superseded"]

        stack.wordpress.clear_faults("webhook")  # WordPress is healthy again
        assert (await client.post(f"/webhooks/{enviado['id']}/replay")).status_code == 202
        await wait_for(lambda: _delivered(stack, enviado["id"]), timeout=20)
        assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}

        # processando is older than the delivered enviado: replaying it would reopen the rows.
        again = await client.post(f"/webhooks/{processando['id']}/replay")
        assert again.status_code == 409 and "force" in again.json()["message"]
        listed = (await client.get("/webhooks/undeliverable")).json()
        assert [item["superseded"] for item in listed["items"]] == [True]
        assert (await client.post(f"/webhooks/{enviado['id']}/replay")).status_code == 409
        assert (await client.post("/webhooks/999999/replay")).status_code == 404
    applied = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [w["status"] for w in applied] == ["enviado"]
    # Replayed a day later in WordPress's eyes, still the campaign's second webhook.
    assert [w["sequencia"] for w in applied] == [2]


async def test_every_webhook_carries_its_sequencia_on_every_attempt(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(
        cda_batch_size=5,
        worker_concurrency=1,
        webhook_progress_interval=0,
        webhook_retry_delay=0.1,
        webhook_retry_max_delay=0.2,
    )
    stack.wordpress.seed_campaign(CAMPAIGN, 10)
    stack.wordpress.seed_campaign(OTHER, 5)
    stack.wordpress.fail_next("webhook", 503, count=2)  # the first webhook is tried three times
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=3)
    await dispatch(stack, OTHER)
    await wait_final(stack, OTHER, webhooks=2)

    attempts = [w.body for w in stack.wordpress.webhooks if isinstance(w.body, dict)]
    first = [(a["agendamento_id"], a["status"], a["sequencia"]) for a in attempts]
    assert first == [
        (CAMPAIGN, "processando", 1),
        (CAMPAIGN, "processando", 1),  # the retries keep the number
        (CAMPAIGN, "processando", 1),
        (CAMPAIGN, "processando", 2),
        (CAMPAIGN, "enviado", 3),
        (OTHER, "processando", 1),  # each campaign counts from 1
        (OTHER, "enviado", 2),
    ]
    assert [e.sequencia for e in await _outbox(stack)] == [1, 2, 3, 1, 2]


async def _delivered(stack, outbox_id: int) -> bool:  # type: ignore[no-untyped-def]
    entries = {e.id: e for e in await _outbox(stack)}
    return entries[outbox_id].status == OutboxStatus.DELIVERED


async def test_progress_lines_while_a_campaign_runs_at_a_bounded_rate(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_batch_size=5, worker_concurrency=1, webhook_progress_interval=0)
    stack.wordpress.seed_campaign(CAMPAIGN, 20)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=5)
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando"] * 4 + ["enviado"]
    assert [h["mensagem_progresso"] for h in hooks[1:4]] == [
        f"Processado: {pct}% ({done} / 20 msgs; {done} enviadas, 0 com falha)"
        for pct, done in ((25, 5), (50, 10), (75, 15))
    ]


async def test_no_progress_lines_inside_the_interval(stack_factory: StackFactory) -> None:
    stack = await stack_factory(cda_batch_size=5, webhook_progress_interval=3600)
    stack.wordpress.seed_campaign(CAMPAIGN, 20)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == [
        "processando",
        "enviado",
    ]


async def test_the_reconciler_re_enqueues_an_overdue_retry(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    await dispatch(stack, CAMPAIGN)
    from disparo.campaigns.ingest import run_dispatch
    from disparo.campaigns.sending import run_send

    async with stack.runtime.sessions() as session:
        campaign_id = (await session.scalars(select(WebhookOutbox.campaign_id))).first()
    assert campaign_id is None  # nothing written before the dispatch job runs
    campaign = await _campaign_id(stack)
    await run_dispatch(stack.runtime, campaign, last_attempt=True)
    await run_send(stack.runtime, campaign, 0)
    past = utcnow() - timedelta(minutes=5)
    async with stack.runtime.sessions() as session, session.begin():
        await session.execute(
            update(WebhookOutbox).values(attempts=3, next_attempt_at=past, created_at=past)
        )
    [head, _] = await _outbox(stack)
    queue = stack.runtime.queues.queue(QueueName.WEBHOOKS)

    assert await reconcile(stack.runtime) == 1  # the campaign's oldest pending webhook only
    assert await queue.getJobState(webhook_job_id(str(campaign), head.id, 3)) == "waiting"
    assert await reconcile(stack.runtime) == 0


async def _campaign_id(stack: DevStack) -> uuid.UUID:
    from disparo.campaigns.models import Campaign

    async with stack.runtime.sessions() as session:
        return (await session.scalars(select(Campaign.id))).one()
