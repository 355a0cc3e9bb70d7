"""A second step's request is stamped like a send's (liveness.py): a GOSAC start whose worker
was judged before its request left is run again by another claim, and the judged worker, once
it wakes, sends nothing. Before steps stamped, the judged start was run twice (or, for a
step that is not idempotent, left UNKNOWN although nothing had been sent)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from disparo.campaigns import liveness
from disparo.campaigns.batches import SEEN_CLAIM, seen_claim
from disparo.campaigns.dead_workers import judge_abandoned
from disparo.campaigns.models import BatchAttempt, BatchStatus, BatchStep, ProviderBatch
from disparo.campaigns.steps import run_step
from disparo.queues.heartbeat import hold_as
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import campaign_rows
from tests.e2e.test_gosac_pipeline import CAMPAIGN, gosac
from tests.e2e.test_step_rate_limit import planned_start

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


async def _start(stack: Any) -> ProviderBatch:
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    (start,) = [batch for batch in batches if batch.step == BatchStep.START]
    return start


async def test_a_start_judged_before_its_request_left_runs_once(
    stack_factory: StackFactory,
) -> None:
    stack = await planned_start(stack_factory)
    rt = stack.runtime
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    frozen, wake = asyncio.Event(), asyncio.Event()
    real_credentials = rt.wordpress.credentials_for

    async def credentials_then_freeze(*args: Any) -> Any:
        credentials = await real_credentials(*args)
        frozen.set()
        await wake.wait()  # the worker stops here, claimed and unstamped
        return credentials

    rt.wordpress.__dict__["credentials_for"] = credentials_then_freeze
    hold_as("w-frozen")
    frozen_task = asyncio.create_task(run_step(rt, campaign.id, BatchStep.START, 0))
    hold_as(None)
    await asyncio.wait_for(frozen.wait(), 20)
    rt.wordpress.__dict__.pop("credentials_for")

    async with rt.sessions() as session:  # what the judge sees: w-frozen's claim
        (row,) = (await session.execute(select(*SEEN_CLAIM).where(
            ProviderBatch.step == BatchStep.START))).all()  # fmt: skip
    seen = seen_claim(row)
    assert seen.holder == "w-frozen" and (await _start(stack)).request_at is None
    await judge_abandoned(rt, seen)  # its heartbeat is gone: provably unsent, run again

    async def started() -> bool:
        return (await _start(stack)).status == BatchStatus.SENT

    await wait_for(started, timeout=30)  # the requeued job, on the stack's worker
    wake.set()  # the frozen worker wakes: its stamp fails, it sends nothing
    await asyncio.wait_for(frozen_task, 20)

    assert len(gosac(stack).requests_to("start")) == 1
    start = await _start(stack)
    async with rt.sessions() as session:
        outcomes = list(await session.scalars(
            select(BatchAttempt.outcome).where(BatchAttempt.batch_id == start.id)
            .order_by(BatchAttempt.id)))  # fmt: skip
    assert outcomes == ["requeued", "sent"]
    assert start.attempts - start.uncounted_attempts == 1


async def test_a_database_error_at_the_stamp_retries_the_step_never_unknown(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing left before the stamp: a step that is not idempotent (here the start, made so
    by its policy) is tried again, not left UNKNOWN for an operator."""
    stack = await planned_start(
        stack_factory, provider_policies={"GOSAC:start": {"deduplicates": False}}
    )
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    real_stamp = liveness._set_request_at

    async def database_gone(*args: Any) -> bool:
        monkeypatch.setattr(liveness, "_set_request_at", real_stamp)  # once
        raise OperationalError("UPDATE provider_batches", {}, ConnectionResetError())

    monkeypatch.setattr(liveness, "_set_request_at", database_gone)
    await run_step(stack.runtime, campaign.id, BatchStep.START, 0)

    start = await _start(stack)
    assert start.status == BatchStatus.PENDING and start.due_at is not None
    assert gosac(stack).requests_to("start") == []
    async with stack.runtime.sessions() as session:
        outcomes = list(await session.scalars(
            select(BatchAttempt.outcome).where(BatchAttempt.batch_id == start.id)))  # fmt: skip
    assert outcomes == ["retry"]
