"""The provider has answered: a database blip when that answer is written must not leave
the batch SENDING (held by a live worker, nobody judges it for minutes) nor turn a known
outcome into UNKNOWN. The write is tried again, for a refusal and a retry as for a 2xx, for
a send and for a second step."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from disparo.campaigns import batches
from disparo.campaigns.models import BatchStatus, BatchStep
from disparo.campaigns.sending import run_send
from disparo.campaigns.steps import run_step
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, campaign_rows, ingested_campaign
from tests.e2e.test_gosac_pipeline import CAMPAIGN as GOSAC_CAMPAIGN
from tests.e2e.test_gosac_pipeline import gosac
from tests.e2e.test_step_rate_limit import planned_start

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def _blip_once(monkeypatch: pytest.MonkeyPatch, move: str) -> list[str]:
    """The first call of `batches.<move>` meets a dropped database connection."""
    calls: list[str] = []
    real = getattr(batches, move)

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(move)
        if len(calls) == 1:
            raise OperationalError("UPDATE provider_batches", {}, ConnectionResetError())
        return await real(*args, **kwargs)

    monkeypatch.setattr(batches, move, flaky)
    return calls


@pytest.mark.parametrize(
    ("answer", "move", "ends"),
    [(503, "retry", BatchStatus.PENDING), (422, "fail", BatchStatus.FAILED)],
)
async def test_a_database_blip_when_a_failure_is_written_is_tried_again(
    stack_factory: StackFactory,
    monkeypatch: pytest.MonkeyPatch,
    answer: int,
    move: str,
    ends: BatchStatus,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, 3)
    stack.cda.fail_next(answer)
    calls = _blip_once(monkeypatch, move)
    monkeypatch.setattr("disparo.campaigns.failed_requests.asyncio.sleep", _no_wait)

    await run_send(stack.runtime, campaign_id, 0)

    _, rows, _ = await campaign_rows(stack, CAMPAIGN)
    assert calls == [move, move]  # the blip hit the write, which was tried again
    assert rows[0].status == ends
    assert len(stack.cda.requests) == 1


async def _no_wait(_seconds: float) -> None:
    """The retry's pause between tries, skipped: the test's clock, not a sleep."""


@pytest.mark.parametrize(
    ("answer", "move", "ends"),
    [(None, "step_done", BatchStatus.SENT), (503, "retry", BatchStatus.PENDING)],
)
async def test_a_database_blip_when_a_second_steps_outcome_is_written_is_tried_again(
    stack_factory: StackFactory,
    monkeypatch: pytest.MonkeyPatch,
    answer: int | None,
    move: str,
    ends: BatchStatus,
) -> None:
    """The same for a GOSAC start: before sends and steps shared failed_requests.py, the
    blip left a start the provider had answered SENDING for the reconciler."""
    stack = await planned_start(stack_factory)
    campaign, _, _ = await campaign_rows(stack, GOSAC_CAMPAIGN)
    if answer is not None:
        gosac(stack).fail_next(answer, route="start")
    calls = _blip_once(monkeypatch, move)
    monkeypatch.setattr("disparo.campaigns.failed_requests.asyncio.sleep", _no_wait)

    await run_step(stack.runtime, campaign.id, BatchStep.START, 0)

    _, batches_now, _ = await campaign_rows(stack, GOSAC_CAMPAIGN)
    (start,) = [batch for batch in batches_now if batch.step == BatchStep.START]
    assert calls == [move, move]
    assert start.status == ends
    assert len(gosac(stack).requests_to("start")) == 1
