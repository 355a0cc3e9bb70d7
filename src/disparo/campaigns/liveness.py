"""Claims of dead workers, judged in seconds; and the fence that keeps a worker presumed
dead (frozen, cut off) from sending a batch after it was judged.

A claim (outcomes.claim_batch) records its holder (the worker's heartbeat id) and the
`attempts` value it claimed, with `request_at` NULL. Right before the request leaves, the
sender stamps `request_at` with one conditional UPDATE (`stamp_request`), which succeeds only
while that very claim is still current (batches.claim_is_current, the check every move on a
claim makes). So:
- `request_at` NULL on a batch still SENDING means no request for that claim ever left: the
  batch goes back to PENDING and is sent again (`requeue_unsent`), and should its old holder
  wake up, its stamp fails and it sends nothing;
- `request_at` set means the provider may have it: UNKNOWN, or retried for a provider that
  deduplicates — exactly today's rule for a worker that died mid-send.
PostgreSQL orders the stamp and the judgement (both take the batch row), so they never both
win.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, select, update

from disparo.campaigns.batches import Claimed, claim_is_current
from disparo.campaigns.models import BatchStatus, BatchStep, CampaignStatus, ProviderBatch
from disparo.campaigns.outcomes import batch_job, cancel_batch, record_attempt
from disparo.campaigns.repository import lock_campaign
from disparo.db.base import utcnow
from disparo.providers.policy import ProviderPolicy
from disparo.queues.jobs import requeue
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

REQUEUED_REASON = "o worker parou antes de enviar o lote; enviado de novo"


async def stamp_and_take_slot(
    rt: Runtime, claimed: Claimed, account: str, policy: ProviderPolicy, recipients: int
) -> float | None:
    """Wait for room in the account's rate limit unstamped (a crash meanwhile provably sent
    nothing), stamp, then take the slot at once, so the stamp's round trip is not between
    the slot and the request. A slot lost to another worker meanwhile clears the stamp
    (nothing left) and the wait starts again. Returns 0 when the request may leave, the wait
    when the batch must be given back (unstamped), None when the claim is no longer ours."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + rt.settings.rate_limit_max_wait

    async def slot(take: bool, max_wait: float) -> float:
        return await rt.limiter.try_acquire(account, policy, recipients, max_wait, take=take)

    while True:
        ahead = await slot(False, max(0.0, deadline - loop.time()))
        if ahead:
            return ahead
        if not await stamp_request(rt, claimed):
            return None
        if not await slot(True, 0.0):
            return 0.0
        await _set_request_at(rt, claimed, None)
        if loop.time() >= deadline:
            return 1.0


async def stamp_request(rt: Runtime, claimed: Claimed) -> bool:
    """True when this claim is still ours and its request may now leave; False when the
    batch was judged (or re-claimed) meanwhile: the caller must not send."""
    stamped = await _set_request_at(rt, claimed, utcnow())
    if not stamped:
        log.error("send.claim_lost", reason="judged while this worker was away; not sent")
    return stamped


async def _set_request_at(rt: Runtime, claimed: Claimed, value: datetime | None) -> bool:
    """Stamp (or clear the stamp of) this claim, if it still is the batch's current one."""
    was = ProviderBatch.request_at.is_(None) if value else ProviderBatch.request_at.is_not(None)
    async with rt.sessions() as session, session.begin():
        result = await session.execute(
            update(ProviderBatch).where(*claim_is_current(claimed), was).values(request_at=value)
        )
        return cast(CursorResult[Any], result).rowcount == 1


async def requeue_unsent(rt: Runtime, claimed: Claimed) -> bool:
    """A batch (a send or a second step) whose claim, the one the judge saw, never stamped a
    request: back to PENDING (the claim not counted against the attempt limit) and enqueued
    again. False when it is not such a batch (it was stamped, finished, claimed again since,
    or claimed by a release without stamps)."""
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, claimed.key.campaign_id)
        batch = await session.scalar(
            select(ProviderBatch)
            .where(
                *claim_is_current(claimed),
                ProviderBatch.claim_attempt == ProviderBatch.attempts,  # a claim that stamps
                ProviderBatch.request_at.is_(None),
            )
            .with_for_update()
        )
        if batch is None:
            return False
        kind = "send" if batch.step == BatchStep.SEND else "step"
        log.warning(f"{kind}.requeued_unsent", batch=batch.sequence, holder=batch.claimed_by)
        if campaign.status == CampaignStatus.CANCELLED:
            await cancel_batch(session, campaign, batch)
            return True
        batch.status, batch.due_at, batch.claimed_by = BatchStatus.PENDING, None, None
        # A new job id (it carries `attempts`): the dead holder's job stays active in Redis
        # until its lock expires, and would hold the old id that long. Neither the claim nor
        # this step counts against the attempt limit.
        batch.attempts += 1
        batch.uncounted_attempts += 2
        record_attempt(session, batch, "requeued", REQUEUED_REASON)
        job = batch_job(campaign, batch)
    await requeue(rt.queues, [job])
    return True
