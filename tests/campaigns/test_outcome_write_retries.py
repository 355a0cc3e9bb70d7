"""The provider has answered: a database blip when that answer is written must not leave
the batch SENDING (held by a live worker, nobody judges it for minutes) nor turn a known
outcome into UNKNOWN. The write is tried again, for a refusal and a retry as for a 2xx."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from disparo.campaigns import batches
from disparo.campaigns.models import BatchStatus
from disparo.campaigns.sending import run_send
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, campaign_rows, ingested_campaign

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
    monkeypatch.setattr("disparo.campaigns.sending.asyncio.sleep", _no_wait)

    await run_send(stack.runtime, campaign_id, 0)

    _, rows, _ = await campaign_rows(stack, CAMPAIGN)
    assert calls == [move, move]  # the blip hit the write, which was tried again
    assert rows[0].status == ends
    assert len(stack.cda.requests) == 1


async def _no_wait(_seconds: float) -> None:
    """The retry's pause between tries, skipped: the test's clock, not a sleep."""
