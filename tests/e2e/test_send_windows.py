"""Send windows through the stack, with the service's clock moved instead of slept: a
campaign held over a weekend (provider window; the reconciler sends it on Monday, from what
the database holds), one spanning a closing and an opening across a holiday in a DST-free
fixed-offset zone (the campaign's own janela_envio), a GOSAC start held like its sends, and
a janela_envio refused with a 400 naming it. Fri 2026-12-04; São Paulo is UTC-3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from disparo.campaigns import batches as batch_moves
from disparo.campaigns import reconciler
from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import BatchAttempt, BatchStatus, BatchStep, ProviderBatch
from disparo.campaigns.outcomes import batch_job
from disparo.campaigns.sending import run_send
from disparo.campaigns.steps import run_step
from disparo.db import base
from disparo.devstack import DevStack
from tests.conftest import API_KEY, REDIS_URL, StackFactory, wait_for
from tests.dashboard.helpers import browser, sign_in
from tests.e2e.helpers import CAMPAIGN, campaign_rows, dispatch, status, wait_final
from tests.e2e.test_gosac_pipeline import CAMPAIGN as GOSAC_CAMPAIGN
from tests.e2e.test_gosac_pipeline import gosac

pytestmark = pytest.mark.e2e

BUSINESS = {"hours": {"mon-fri": "08:00-20:00", "sat": "08:00-14:00"}}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    """The service's clock (disparo.db.base.clock), set by the test."""

    def __init__(self) -> None:
        self.now = utc("2026-12-04 12:00")

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = utc(text)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    moved = Clock()
    monkeypatch.setattr(base, "clock", moved)
    yield moved


async def sends(stack: DevStack, key: str = CAMPAIGN) -> list[ProviderBatch]:
    _, batches, _ = await campaign_rows(stack, key)
    return [batch for batch in batches if batch.step == BatchStep.SEND]


async def window_holds(stack: DevStack) -> list[BatchAttempt]:
    async with stack.runtime.sessions() as session:
        rows = await session.scalars(select(BatchAttempt).where(BatchAttempt.outcome == "window"))
        return list(rows)


async def flush_redis(stack: DevStack) -> None:
    """Every queue's jobs lost. disparo's own keys stay (heartbeats, rate limits): losing
    those is liveness.py's and ratelimit.py's story (a live worker looks dead, the account
    waits out one window), tested there; here the holds must survive the queues' loss."""
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = stack.runtime.settings.queue_prefix
    try:
        keys = [
            key
            async for key in client.scan_iter(f"{prefix}:*")
            if not key.startswith(f"{prefix}:disparo-".encode())
        ]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def enqueued(stack: DevStack) -> list[bool]:
    """Whether Redis holds a job for each send batch still PENDING."""
    campaign, batches, _ = await campaign_rows(stack, CAMPAIGN)
    jobs = [batch_job(campaign, b) for b in batches if b.status == BatchStatus.PENDING]
    queues = stack.runtime.queues
    return [not await queues.needs_requeue(job.queue, job.job_id) for job in jobs]


async def dashboard_says(stack: DevStack, waiting: str) -> None:
    """The campaign page, and the JSON its script polls, say whether the window holds it."""
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = await client.get(f"/dashboard/campaigns/{campaign.id}")
        live = (await client.get(f"/dashboard/api/campaigns/{campaign.id}")).json()
    assert page.status_code == 200
    assert live["campaign"]["window_wait"] == waiting
    if waiting:
        assert waiting in page.text
    else:
        assert "waiting for window" not in page.text


async def test_a_weekend_holds_every_batch_until_monday(
    stack_factory: StackFactory, clock: Clock
) -> None:
    clock.set("2026-12-05 18:00")  # Saturday 15:00: the provider closed at 14:00
    stack = await stack_factory(
        cda_batch_size=2, provider_policies={"CDA": {"send_window": BUSINESS}}
    )
    stack.wordpress.seed_campaign(CAMPAIGN, 6)
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202

    async def all_held() -> bool:
        batches = await sends(stack)
        return len(batches) == 3 and all(b.due_at is not None for b in batches)

    await wait_for(all_held)
    held = await sends(stack)
    assert {b.due_at for b in held} == {utc("2026-12-07 11:00")}  # Mon 08:00 in São Paulo
    assert {(b.status, b.attempts) for b in held} == {(BatchStatus.PENDING, 0)}
    assert stack.cda.requests == []
    waiting = (await status(stack, CAMPAIGN))["waiting_for_window"]
    assert waiting == {
        "opens_at": "2026-12-07T11:00:00Z",
        "opens_at_local": "Mon 08:00",
        "timezone": "America/Sao_Paulo",
    }

    await dashboard_says(stack, "waiting for window, opens Mon 08:00")

    clock.set("2026-12-06 20:00")  # Sunday: nothing is due, nothing is re-enqueued
    await reconciler.reconcile(stack.runtime)
    assert stack.cda.requests == []

    clock.set("2026-12-07 11:00:01")  # Monday 08:00: the reconciler finds them due
    assert await reconciler.reconcile(stack.runtime) == 3
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert (final["status"], final["sent_messages"]) == ("COMPLETED", 6)
    assert "waiting_for_window" not in final
    assert len(stack.cda.requests) == 3
    assert {b.attempts for b in await sends(stack)} == {1}  # the holds spent none
    await dashboard_says(stack, "")


async def test_a_campaign_window_spans_a_closing_a_holiday_and_an_opening(
    stack_factory: StackFactory, clock: Clock
) -> None:
    clock.set("2026-12-24 21:30")  # Thursday 19:30 in Noronha (UTC-2, no DST)
    stack = await stack_factory(with_worker=False, cda_batch_size=2, holidays=[date(2026, 12, 25)])
    stack.wordpress.seed_campaign(CAMPAIGN, 6)
    window = {"timezone": "America/Noronha", "hours": {"mon-fri": "08:00-20:00"}}
    assert (await dispatch(stack, CAMPAIGN, janela_envio=window)).status_code == 202
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    assert campaign.send_window == window  # kept with the campaign
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)

    await run_send(stack.runtime, campaign.id, 0)  # open: sent
    clock.set("2026-12-24 22:00")  # 20:00 in Noronha: closed
    await run_send(stack.runtime, campaign.id, 1)
    await run_send(stack.runtime, campaign.id, 2)
    first, *rest = await sends(stack)
    assert first.status == BatchStatus.SENT
    # Friday is Christmas, then the weekend: Monday 08:00 in Noronha.
    assert {(b.status, b.attempts, b.due_at) for b in rest} == {
        (BatchStatus.PENDING, 0, utc("2026-12-28 10:00"))
    }
    assert len(stack.cda.requests) == 1
    assert [hold.error for hold in await window_holds(stack)] == [
        "fora da janela de envio; abre Mon 08:00 (America/Noronha)"
    ] * 2
    current = await status(stack, CAMPAIGN)
    assert current["status"] == "PROCESSING"
    assert current["waiting_for_window"]["opens_at_local"] == "Mon 08:00"

    clock.set("2026-12-25 12:00")  # the holiday, in hours: still held, no new hold row
    await run_send(stack.runtime, campaign.id, 1)
    assert len(stack.cda.requests) == 1 and len(await window_holds(stack)) == 2

    # Redis flushed over the holiday: the hold is in the database, so nothing changes.
    await flush_redis(stack)
    await reconciler.reconcile(stack.runtime)
    assert await enqueued(stack) == [False, False]  # not due: not enqueued

    clock.set("2026-12-28 10:00:01")  # just past the opening (due_at < now)
    await reconciler.reconcile(stack.runtime)
    assert await enqueued(stack) == [True, True]  # due at the opening: enqueued again
    await run_send(stack.runtime, campaign.id, 1)  # what the worker does with those jobs
    await run_send(stack.runtime, campaign.id, 2)
    assert {b.status for b in await sends(stack)} == {BatchStatus.SENT}
    assert len(stack.cda.requests) == 3
    final = await status(stack, CAMPAIGN)
    assert (final["status"], final["sent_messages"]) == ("COMPLETED", 6)


async def test_a_gosac_start_obeys_the_providers_window(
    stack_factory: StackFactory, clock: Clock
) -> None:
    clock.set("2026-12-04 22:00")  # Friday 19:00 in São Paulo: open
    stack = await stack_factory(
        gosac_start_delay=600.0, provider_policies={"GOSAC": {"send_window": BUSINESS}}
    )
    stack.wordpress.seed_campaign(GOSAC_CAMPAIGN, 2)
    await dispatch(stack, GOSAC_CAMPAIGN)
    await wait_final(stack, GOSAC_CAMPAIGN, webhooks=2)

    async def start() -> ProviderBatch | None:
        _, batches, _ = await campaign_rows(stack, GOSAC_CAMPAIGN)
        return next((b for b in batches if b.step == BatchStep.START), None)

    async def planned() -> bool:
        return await start() is not None

    await wait_for(planned)
    clock.set("2026-12-04 23:30")  # the start is due, but São Paulo is closed at 20:30
    campaign, _, _ = await campaign_rows(stack, GOSAC_CAMPAIGN)
    await run_step(stack.runtime, campaign.id, BatchStep.START, 0)
    held = await start()
    assert held is not None
    assert (held.status, held.attempts, held.due_at) == (
        BatchStatus.PENDING,
        0,
        utc("2026-12-05 11:00"),  # Saturday 08:00
    )
    assert gosac(stack).requests_to("start") == []
    completed = await status(stack, GOSAC_CAMPAIGN)
    assert completed["status"] == "COMPLETED"
    assert completed["waiting_for_window"]["opens_at_local"] == "Sat 08:00"

    clock.set("2026-12-05 11:00")
    await run_step(stack.runtime, campaign.id, BatchStep.START, 0)
    done = await start()
    assert done is not None and done.status == BatchStatus.SENT
    assert len(gosac(stack).requests_to("start")) == 1
    assert "waiting_for_window" not in await status(stack, GOSAC_CAMPAIGN)


@pytest.mark.parametrize(
    ("window", "named"),
    [
        ("08:00-20:00", "janela_envio"),
        ({"hours": {"mon": "8-20"}}, "janela_envio.hours.mon"),
        ({"timezone": "Brasil/Recife", "hours": {"mon": "08:00-20:00"}}, "janela_envio.timezone"),
    ],
)
async def test_an_invalid_janela_envio_is_refused_naming_it(
    stack_factory: StackFactory, window: Any, named: str
) -> None:
    stack = await stack_factory(with_worker=False)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    response = await dispatch(stack, CAMPAIGN, janela_envio=window)
    assert response.status_code == 400, response.text
    assert named in response.text
    async with stack.runtime.sessions() as session:
        assert (await session.scalars(select(ProviderBatch))).all() == []


async def test_a_batch_claimed_before_the_closing_finishes_and_the_rest_wait(
    stack_factory: StackFactory, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.set("2026-12-04 22:59:59")  # Friday 19:59:59 in São Paulo: the last open second
    stack = await stack_factory(
        with_worker=False, cda_batch_size=2, provider_policies={"CDA": {"send_window": BUSINESS}}
    )
    stack.wordpress.seed_campaign(CAMPAIGN, 4)
    await dispatch(stack, CAMPAIGN)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)

    claim = batch_moves.claim

    async def claim_then_close(rt: Any, key: Any, **options: Any) -> Any:
        claimed = await claim(rt, key, **options)
        clock.set("2026-12-04 23:00:30")  # the window closes while this one is in flight
        return claimed

    monkeypatch.setattr(batch_moves, "claim", claim_then_close)
    await run_send(stack.runtime, campaign.id, 0)
    monkeypatch.setattr(batch_moves, "claim", claim)
    await run_send(stack.runtime, campaign.id, 1)

    first, second = await sends(stack)
    assert first.status == BatchStatus.SENT and len(stack.cda.requests) == 1
    assert (second.status, second.attempts, second.due_at) == (
        BatchStatus.PENDING,
        0,
        utc("2026-12-05 11:00"),  # Saturday 08:00
    )


async def test_a_janela_envio_that_never_meets_the_providers_window_is_refused(
    stack_factory: StackFactory,
) -> None:
    mondays = {"hours": {"mon": "08:00-20:00"}}
    stack = await stack_factory(
        with_worker=False, provider_policies={"CDA": {"send_window": mondays}}
    )
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    tuesdays = {"hours": {"tue": "08:00-20:00"}}
    response = await dispatch(stack, CAMPAIGN, janela_envio=tuesdays)
    assert response.status_code == 400, response.text
    assert "janela_envio: never open together with the provider's send window" in response.text
    # The same campaign without a window of its own is taken: absent means "none".
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
