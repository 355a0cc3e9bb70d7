"""Second steps (GOSAC start, Marketing Cloud run) live the send's lifecycle: the policy of
DISPARO_PROVIDER_POLICIES, attempt history, dead letters seen by the API, the CLI, the
dashboard and the metrics, and a redrive that runs them again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from disparo.campaigns import deadletters
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    ProviderBatch,
)
from disparo.dashboard import actions
from disparo.devstack import DevStack
from disparo.observe.state import take_snapshot
from tests.cli.test_operator_commands import _disparo
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import api, campaign_rows, dispatch, wait_final
from tests.e2e.test_gosac_pipeline import gosac
from tests.e2e.test_salesforce_pipeline import salesforce

pytestmark = pytest.mark.e2e

GOSAC = "G20250115093000"
SALESFORCE = "S20250115093000"


async def _step(stack: DevStack, agendamento_id: str, step: BatchStep) -> ProviderBatch:
    _, batches, _ = await campaign_rows(stack, agendamento_id)
    return next(b for b in batches if b.step == step)


async def _wait_step(
    stack: DevStack, agendamento_id: str, step: BatchStep, status: BatchStatus
) -> ProviderBatch:
    async def reached() -> bool:
        _, batches, _ = await campaign_rows(stack, agendamento_id)
        return any(b.step == step and b.status == status for b in batches)

    await wait_for(reached, timeout=30)
    return await _step(stack, agendamento_id, step)


async def _history(stack: DevStack, batch_id: int) -> list[tuple[int, str, int | None]]:
    async with stack.runtime.sessions() as session:
        rows = await session.scalars(
            select(BatchAttempt).where(BatchAttempt.batch_id == batch_id).order_by(BatchAttempt.id)
        )
        return [(row.attempt, row.outcome, row.status_code) for row in rows]


async def test_a_gosac_start_follows_its_policy_becomes_a_dead_letter_and_is_redriven(
    stack_factory: StackFactory,
) -> None:
    # The step's own setting says 5 attempts; the operator's policy for "GOSAC:start" says 2.
    policies = {"GOSAC:start": {"max_attempts": 2, "base_delay": 0.1, "max_delay": 0.2}}
    stack = await stack_factory(
        gosac_start_delay=0.3, gosac_start_max_attempts=5, provider_policies=policies
    )
    stack.wordpress.seed_campaign(GOSAC, 2)
    gosac(stack).fail_next(503, count=2, route="start")
    await dispatch(stack, GOSAC)
    await wait_final(stack, GOSAC, webhooks=2)
    start = await _wait_step(stack, GOSAC, BatchStep.START, BatchStatus.FAILED)

    batch_id = start.id
    assert start.dead_lettered_at is not None
    assert "tentativas esgotadas" in (start.last_error or "")
    assert len(gosac(stack).requests_to("start")) == 2  # the policy's 2, not the setting's 5
    assert await _history(stack, batch_id) == [(1, "retry", 503), (2, "dead_letter", 503)]

    async def erro_inicio() -> bool:
        return [h["status"] for h in stack.wordpress.webhooks_for(GOSAC)][-1:] == ["erro_inicio"]

    await wait_for(erro_inicio)

    # Every reader sees it, with its step, and it counts no recipients of its own.
    async with api(stack) as client:
        listed = (await client.get("/dead-letters")).json()["items"]
    assert [(item["id"], item["step"]) for item in listed] == [(batch_id, "start")]
    assert [line["outcome"] for line in listed[0]["history"]] == ["retry", "dead_letter"]
    snapshot = await take_snapshot(stack.runtime)
    assert snapshot.dead_letters == {"GOSAC": 1}
    async with stack.runtime.sessions() as session:
        campaign = await session.scalar(select(Campaign).where(Campaign.agendamento_id == GOSAC))
    assert campaign is not None
    preview = await actions.preview(stack.runtime, campaign)
    assert preview.dead_letters == actions.Tally(1, 0)
    code, output = await _disparo(stack, "dlq", "list")
    assert code == 0 and "start" in output and GOSAC in output

    code, output = await _disparo(stack, "dlq", "redrive", "--provider", "GOSAC", "--yes")
    assert code == 0 and "1 batch(es), 0 recipients" in output
    await _wait_step(stack, GOSAC, BatchStep.START, BatchStatus.SENT)
    assert [r.response_status for r in gosac(stack).requests_to("start")] == [503, 503, 200]
    final, _, _ = await campaign_rows(stack, GOSAC)
    assert final.status == CampaignStatus.COMPLETED  # a step's redrive does not reopen the sends
    assert await deadletters.count_dead_letters(stack.runtime) == 0
    outcomes = [outcome for _, outcome, _ in await _history(stack, batch_id)]
    assert outcomes[-2:] == ["redrive", "sent"]


async def test_a_marketing_cloud_run_that_stays_unavailable_is_a_dead_letter(
    stack_factory: StackFactory,
) -> None:
    policies = {"SALESFORCE:mkc": {"max_attempts": 2, "base_delay": 0.1, "max_delay": 0.2}}
    stack = await stack_factory(salesforce_mkc_delay=0.3, provider_policies=policies)
    stack.wordpress.seed_campaign(SALESFORCE, 3)
    salesforce(stack).fail_next(503, count=2, route="run")
    await dispatch(stack, SALESFORCE)
    await wait_final(stack, SALESFORCE, webhooks=2)
    run = await _wait_step(stack, SALESFORCE, BatchStep.MKC, BatchStatus.FAILED)

    assert run.dead_lettered_at is not None
    outcomes = [outcome for _, outcome, _ in await _history(stack, run.id)]
    assert outcomes == ["retry", "dead_letter"]

    async def mkc_erro() -> bool:
        return [h["status"] for h in stack.wordpress.webhooks_for(SALESFORCE)][-1:] == ["mkc_erro"]

    await wait_for(mkc_erro)
    listed = await deadletters.list_dead_letters(stack.runtime)
    assert [(d.step, d.provider) for d in listed] == [(BatchStep.MKC, "SALESFORCE")]
    await deadletters.redrive_dead_letter(stack.runtime, listed[0].id)
    await _wait_step(stack, SALESFORCE, BatchStep.MKC, BatchStatus.SENT)

    async def mkc_executado() -> bool:
        statuses = [h["status"] for h in stack.wordpress.webhooks_for(SALESFORCE)]
        return statuses[-1:] == ["mkc_executado"]

    await wait_for(mkc_executado)


async def test_sends_redriven_after_the_steps_were_planned_plan_only_the_missing_steps(
    stack_factory: StackFactory,
) -> None:
    """A campaign that completed with a dead-lettered send already has its GOSAC starts;
    when the redriven send is accepted and the campaign completes again, only that send's
    start is added (a second row for the same (campaign, step, sequence) would make the
    outcome's commit fail and leave a sent batch to end UNKNOWN)."""
    stack = await stack_factory(gosac_batch_size=1, gosac_max_attempts=1, gosac_start_delay=60)
    stack.wordpress.seed_campaign(GOSAC, 2)
    gosac(stack).fail_next(500, route="create")
    await dispatch(stack, GOSAC)
    await wait_final(stack, GOSAC, webhooks=2)
    [dead] = await deadletters.list_dead_letters(stack.runtime)

    await deadletters.redrive_dead_letter(stack.runtime, dead.id)
    await wait_final(stack, GOSAC, webhooks=4)

    _, batches, _ = await campaign_rows(stack, GOSAC)
    sends = sorted((b.sequence, b.status) for b in batches if b.step == BatchStep.SEND)
    starts = sorted(b.sequence for b in batches if b.step == BatchStep.START)
    assert sends == [(0, BatchStatus.SENT), (1, BatchStatus.SENT)]
    assert starts == [0, 1]
