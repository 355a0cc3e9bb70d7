"""Rule 2's safety net: whatever the database says is due but Redis does not hold is enqueued
again; a batch left SENDING by a dead worker becomes UNKNOWN (never resent blind), and an
UNKNOWN batch whose provider can answer and that was never asked about is asked. A batch
held by its send window is PENDING with due_at at the opening (campaigns/windows.py): not
due before then, so nothing here sends it early, and it is enqueued once the window opens."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import exists, func, or_, select

from disparo.campaigns.batch_queries import runnable_campaign
from disparo.campaigns.batches import SEEN_CLAIM, seen_claim
from disparo.campaigns.dead_workers import judge_abandoned
from disparo.campaigns.followups import STEP_QUEUES, step_spec
from disparo.campaigns.models import BatchStatus, BatchStep, Campaign, CampaignStatus, ProviderBatch
from disparo.campaigns.outcomes import batch_job
from disparo.campaigns.provider_controls import restore_holds
from disparo.campaigns.service import dispatch_job
from disparo.campaigns.steps import claim_deadline
from disparo.campaigns.unknown_jobs import unasked_unknowns
from disparo.db.base import utcnow
from disparo.queues.jobs import PendingJob, requeue
from disparo.runtime import Runtime
from disparo.wordpress.outbox_model import WebhookOutbox
from disparo.wordpress.webhooks import job_for_entry, pending_heads

log = structlog.get_logger(__name__)

# Younger than settings.reconcile_grace, a missing job may simply not have been added yet
# (commit, then enqueue). A send still SENDING settings.stale_send_margin after its deadline
# outlived any request timeout: its worker died.
SCAN_LIMIT = 500


async def reconcile(rt: Runtime) -> int:
    candidates = [
        *await _queued_campaigns(rt),
        *await _due_batches(rt),
        *await _pending_webhooks(rt),
        *await unasked_unknowns(rt),
    ]
    missing = await requeue(rt.queues, candidates)
    stale = await _expire_stale_sends(rt) + await _expire_stale_steps(rt)
    holds = await restore_holds(rt)
    if missing or stale or holds:
        log.warning("reconciler.repaired", reenqueued=len(missing), stale_sends=stale, holds=holds)
    return len(missing) + stale + holds


def _grace(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.reconcile_grace)


async def _queued_campaigns(rt: Runtime) -> list[PendingJob]:
    has_batches = exists().where(ProviderBatch.campaign_id == Campaign.id)
    async with rt.sessions() as session:
        campaigns = await session.scalars(
            select(Campaign)
            .where(
                Campaign.status == CampaignStatus.QUEUED,
                ~has_batches,
                Campaign.created_at < utcnow() - _grace(rt),
            )
            .limit(SCAN_LIMIT)
        )
        return [dispatch_job(rt.settings, campaign) for campaign in campaigns]


async def _due_batches(rt: Runtime) -> list[PendingJob]:
    now = utcnow()
    async with rt.sessions() as session:
        rows = await session.execute(
            select(Campaign, ProviderBatch)
            .join(ProviderBatch, ProviderBatch.campaign_id == Campaign.id)
            .where(
                ProviderBatch.status == BatchStatus.PENDING,
                ProviderBatch.updated_at < now - _grace(rt),
                (ProviderBatch.due_at.is_(None)) | (ProviderBatch.due_at < now),
                runnable_campaign(),
            )
            .limit(SCAN_LIMIT)
        )
        return [batch_job(campaign, batch) for campaign, batch in rows]


async def _pending_webhooks(rt: Runtime) -> list[PendingJob]:
    """The oldest pending webhook of each campaign (it delivers the rest), once its attempt
    is overdue: a retry whose delayed job Redis lost, or a fresh one never enqueued."""
    heads = pending_heads()
    async with rt.sessions() as session:
        entries = await session.scalars(
            select(WebhookOutbox)
            .where(
                WebhookOutbox.id.in_(heads),
                func.coalesce(WebhookOutbox.next_attempt_at, WebhookOutbox.created_at)
                < utcnow() - _grace(rt),
            )
            .order_by(WebhookOutbox.id)
            .limit(SCAN_LIMIT)
        )
        return [job_for_entry(entry, rt.settings) for entry in entries]


async def _expire_stale_sends(rt: Runtime) -> int:
    # A claimed batch may wait for its rate-limit slot, then take up to the send deadline.
    settings = rt.settings
    limit = timedelta(
        seconds=settings.rate_limit_max_wait + settings.send_deadline + settings.stale_send_margin
    )
    async with rt.sessions() as session:
        rows = await session.execute(
            select(*SEEN_CLAIM).where(
                ProviderBatch.status == BatchStatus.SENDING,
                ProviderBatch.step == BatchStep.SEND,
                ProviderBatch.claimed_at < utcnow() - limit,
            )
        )
        stale = [seen_claim(row) for row in rows]
    for claimed in stale:
        await judge_abandoned(rt, claimed)  # sent again if provably unsent
    return len(stale)


async def _expire_stale_steps(rt: Runtime) -> int:
    # Each step kind has its own deadline: the filter is one OR of (step, claimed before).
    now, margin = utcnow(), rt.settings.stale_send_margin

    def claimed_before(step: str) -> datetime:
        deadline = claim_deadline(rt.settings, step_spec(rt.settings, step))
        return now - timedelta(seconds=deadline + margin)

    overdue = or_(
        *(
            (ProviderBatch.step == step) & (ProviderBatch.claimed_at < claimed_before(step))
            for step in STEP_QUEUES
        )
    )
    async with rt.sessions() as session:
        rows = await session.execute(
            select(*SEEN_CLAIM).where(ProviderBatch.status == BatchStatus.SENDING, overdue)
        )
        stale = [seen_claim(row) for row in rows]
    for claimed in stale:
        await judge_abandoned(rt, claimed)  # run again if provably unsent
    return len(stale)
