"""Dead workers' claims, judged in seconds (the fence that keeps a presumed-dead worker from
sending afterwards is liveness.py). Every heartbeat interval a maintenance worker looks for
SENDING batches whose holder's heartbeat is gone: a send or a second step is run again when
provably unsent, else judged by today's rule (UNKNOWN, or retried when the provider
deduplicates or the step is idempotent)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import select

from disparo.campaigns.batches import SEEN_CLAIM, Claimed, seen_claim
from disparo.campaigns.liveness import requeue_unsent
from disparo.campaigns.models import BatchStatus, BatchStep, ProviderBatch
from disparo.campaigns.sending import expire_stale_send
from disparo.campaigns.steps import expire_stale_step
from disparo.queues.heartbeat import AbsenceWatch
from disparo.queues.names import QueueName
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)


async def judge_abandoned(rt: Runtime, claimed: Claimed) -> None:
    """A batch (a send or a second step) whose worker is gone: run again when provably
    unsent, else today's rule (UNKNOWN, or retried when the provider deduplicates or the
    step is idempotent). Nothing when `claimed`, the claim the judge saw, no longer holds
    the batch."""
    if await requeue_unsent(rt, claimed):
        return
    if claimed.key.step == BatchStep.SEND:
        await expire_stale_send(rt, claimed)
    else:
        await expire_stale_step(rt, claimed)


async def _claims_by_holder(rt: Runtime) -> dict[str, list[Claimed]]:
    """The claims as seen now: each judgement re-checks, under the row lock, that its claim
    still holds the batch (another sweeper may have judged it, a live worker claimed it)."""
    async with rt.sessions() as session:
        rows = await session.execute(
            select(*SEEN_CLAIM).where(
                ProviderBatch.status == BatchStatus.SENDING,
                ProviderBatch.claimed_by.is_not(None),
                ProviderBatch.claim_attempt == ProviderBatch.attempts,
            )
        )
        claims: dict[str, list[Claimed]] = {}
        for row in rows:
            claimed = seen_claim(row)
            claims.setdefault(str(claimed.holder), []).append(claimed)
        return claims


async def judge_dead_claims(rt: Runtime, watch: AbsenceWatch) -> int:
    """Judge every SENDING batch whose holder's heartbeat is gone. Returns how many."""
    claims = await _claims_by_holder(rt)
    dead = await watch.dead(claims)
    judged = 0
    for worker_id in sorted(dead):
        log.warning("liveness.worker_dead", worker_id=worker_id, batches=len(claims[worker_id]))
        for claimed in claims[worker_id]:
            await judge_abandoned(rt, claimed)
            judged += 1
    return judged


async def sweep_dead_claims(rt: Runtime, stop: asyncio.Event) -> None:
    """Every heartbeat interval, until stopped. Several workers may sweep at once: each
    judgement takes the batch row and re-checks it, so a batch is judged once."""
    settings = rt.settings
    client = rt.queues.queue(QueueName.MAINTENANCE).client
    watch = AbsenceWatch(
        client, settings.queue_prefix, confirm_after=2 * settings.heartbeat_interval
    )
    while not stop.is_set():
        try:
            judged = await judge_dead_claims(rt, watch)
            if judged:
                log.warning("liveness.judged", batches=judged)
        except Exception as exc:  # Redis or the database away: the next round tries again
            log.warning("liveness.sweep_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.heartbeat_interval)
