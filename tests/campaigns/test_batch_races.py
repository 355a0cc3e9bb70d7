"""The two failures rule 3 exists for, made to happen on purpose against real PostgreSQL:
two workers racing for one batch, and a worker dying between the provider's 2xx and the
commit that records it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from disparo.campaigns import batches
from disparo.campaigns.models import BatchAttempt, BatchStatus, MessageStatus, ProviderBatch
from disparo.campaigns.reconciler import reconcile
from disparo.campaigns.sending import run_send
from disparo.db.base import utcnow
from disparo.runtime import Runtime, open_runtime
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, campaign_rows, ingested_campaign

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

BATCHES = 6


async def test_two_workers_racing_for_each_batch_send_it_once(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, BATCHES, cda_batch_size=1)
    other = await open_runtime(stack.settings)  # a second worker: its own engine and pool
    claims: list[bool] = []
    claim = batches.claim

    async def counted(*args: object, **kwargs: object) -> object:
        # Both workers must reach the claim UPDATE: the race is decided there, not before.
        found = await claim(*args, **kwargs)  # type: ignore[arg-type]
        claims.append(found is not None)
        return found

    monkeypatch.setattr(batches, "claim", counted)
    try:
        await asyncio.gather(
            *(
                run_send(runtime, campaign_id, sequence)
                for sequence in range(BATCHES)
                for runtime in (stack.runtime, other, stack.runtime, other)
            )
        )
    finally:
        await other.close()

    assert len(claims) > BATCHES  # losers reached the claim too
    assert claims.count(True) == BATCHES
    assert len(stack.cda.requests) == BATCHES  # the simulator's log: each batch once
    campaign, rows, messages = await campaign_rows(stack, CAMPAIGN)
    assert [(b.status, b.attempts) for b in rows] == [(BatchStatus.SENT, 1)] * BATCHES
    assert campaign.sent_messages == BATCHES
    assert {m.status for m in messages} == {MessageStatus.SENT}


class PowerCut(BaseException):
    """The process dies: nothing after this point runs (not even `except Exception`)."""


async def _age_claims(rt: Runtime, campaign_id: uuid.UUID) -> None:
    """Move the claim back past the stale limit, as if the reconciler ran much later."""
    settings = rt.settings
    limit = settings.rate_limit_max_wait + settings.send_deadline + settings.stale_send_margin
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(ProviderBatch)
            .where(ProviderBatch.campaign_id == campaign_id)
            .values(claimed_at=utcnow() - timedelta(seconds=limit + 5))
        )


async def test_a_crash_between_the_providers_2xx_and_the_commit_ends_unknown_never_resent(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, 3)
    answered: list[int] = []

    async def crash_before_commit(*args: object, **kwargs: object) -> None:
        answered.append(len(stack.cda.requests))  # the provider already said 2xx
        raise PowerCut

    # The fault hook: the one write that records an accepted batch.
    monkeypatch.setattr(batches, "sent", crash_before_commit)
    with pytest.raises(PowerCut):
        await run_send(stack.runtime, campaign_id, 0)
    monkeypatch.undo()

    assert answered == [1]
    _, rows, _ = await campaign_rows(stack, CAMPAIGN)
    assert rows[0].status == BatchStatus.SENDING  # nothing recorded the answer
    await run_send(stack.runtime, campaign_id, 0)  # the job runs again (bullmq retry)
    assert len(stack.cda.requests) == 1  # SENDING is never claimed twice

    await _age_claims(stack.runtime, campaign_id)
    assert await reconcile(stack.runtime) >= 1
    await run_send(stack.runtime, campaign_id, 0)

    campaign, rows, messages = await campaign_rows(stack, CAMPAIGN)
    assert rows[0].status == BatchStatus.UNKNOWN
    assert "pode ter recebido" in (rows[0].last_error or "")
    assert campaign.unknown_messages == 3
    assert {m.status for m in messages} == {MessageStatus.UNKNOWN}
    assert len(stack.cda.requests) == 1  # never resent blind
    async with stack.runtime.sessions() as session:
        outcomes = list(
            await session.scalars(
                select(BatchAttempt.outcome).where(BatchAttempt.batch_id == rows[0].id)
            )
        )
    assert outcomes == ["unknown"]
