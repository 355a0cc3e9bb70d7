"""Issue 15 end to end through every provider's simulator: a campaign with an opted-out
recipient, dispatched while its provider's send window is closed. The preflight's counts
and start equal what the dispatch then does; nothing leaves before the window opens; the
suppressed phone never leaves at all. The service's clock is moved, never slept."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import BatchStatus, BatchStep
from disparo.campaigns.preflight import run_preflight
from disparo.campaigns.sending import run_send
from disparo.db import base
from disparo.dev_simulators import DEV_SIMULATORS
from disparo.providers.registry import BY_CODE
from tests.conftest import StackFactory
from tests.e2e.helpers import api, campaign_rows, dispatch

pytestmark = pytest.mark.e2e

BUSINESS = {"hours": {"mon-fri": "08:00-20:00"}}  # São Paulo, the default zone
SATURDAY = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)  # 15:00 in São Paulo: closed
MONDAY_OPENING = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 08:00 in São Paulo


class Clock:
    def __init__(self) -> None:
        self.now = SATURDAY

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    moved = Clock()
    monkeypatch.setattr(base, "clock", moved)
    yield moved


def national(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits.removeprefix("55")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("provider", sorted(DEV_SIMULATORS))
async def test_opt_outs_and_send_windows_hold_for_every_provider(
    stack_factory: StackFactory, clock: Clock, provider: str
) -> None:
    stack = await stack_factory(
        with_worker=False, provider_policies={provider: {"send_window": BUSINESS}}
    )
    agendamento = BY_CODE[provider].prefix + "20251201000000"
    DEV_SIMULATORS[provider].seed_sample(stack.wordpress, agendamento, 12)
    rows = stack.wordpress.store.campaigns[agendamento].rows
    opted_out = str(rows[3]["telefone"])
    async with api(stack) as client:
        added = await client.post("/suppressions", json={"phone": opted_out, "reason": "pediu"})
    assert added.status_code == 201, added.text

    report = await run_preflight(stack.runtime, agendamento)
    assert report.problems == []
    assert report.earliest_start == MONDAY_OPENING

    assert (await dispatch(stack, agendamento)).status_code == 202
    campaign, _, _ = await campaign_rows(stack, agendamento)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    _, batches, messages = await campaign_rows(stack, agendamento)
    skipped = Counter(m.skip_reason for m in messages if m.skip_reason)
    assert dict(skipped) == {r.reason: r.count for r in report.skipped_by_reason}
    assert skipped["opt-out"] == 1
    sends = [b for b in batches if b.step == BatchStep.SEND]
    assert len(sends) == report.batches

    simulator = stack.simulators[provider]
    for batch in sends:  # Saturday: every batch is held, none claimed, none sent
        await run_send(stack.runtime, campaign.id, batch.sequence)
    _, batches, _ = await campaign_rows(stack, agendamento)
    held = [b for b in batches if b.step == BatchStep.SEND]
    assert {(b.status, b.attempts, b.due_at) for b in held} == {
        (BatchStatus.PENDING, 0, MONDAY_OPENING)
    }
    assert simulator.requests == []

    clock.now = MONDAY_OPENING
    for batch in sends:
        await run_send(stack.runtime, campaign.id, batch.sequence)
    _, batches, _ = await campaign_rows(stack, agendamento)
    assert {b.status for b in batches if b.step == BatchStep.SEND} == {BatchStatus.SENT}
    sent = json.dumps([request.json for request in simulator.requests])
    assert national(opted_out) not in sent
    assert national(str(rows[4]["telefone"])) in sent  # the rest did leave
