"""Rule 2's safety net: whatever the database says is due but Redis does not hold is enqueued
again; a batch left SENDING by a dead worker becomes UNKNOWN (never resent blind)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import exists, select

from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    OutboxStatus,
    ProviderBatch,
    WebhookOutbox,
)
from disparo.campaigns.outcomes import batch_job
from disparo.db.base import utcnow
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime

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
    ]
    missing = [job for job in candidates if await rt.queues.needs_requeue(job.queue, job.job_id)]
    await enqueue_all(rt.queues, missing)
    stale = await _expire_stale_sends(rt)
    if missing or stale:
        log.warning("reconciler.repaired", reenqueued=len(missing), stale_sends=stale)
    return len(missing) + stale


def _grace(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.reconcile_grace)


async def _queued_campaigns(rt: Runtime) -> list[PendingJob]:
    from disparo.campaigns.service import dispatch_job

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
                Campaign.status.in_([CampaignStatus.QUEUED, CampaignStatus.PROCESSING]),
                Campaign.paused_at.is_(None),
            )
            .limit(SCAN_LIMIT)
        )
        return [batch_job(campaign, batch) for campaign, batch in rows]


async def _pending_webhooks(rt: Runtime) -> list[PendingJob]:
    from disparo.wordpress.webhooks import webhook_job

    async with rt.sessions() as session:
        rows = await session.execute(
            select(WebhookOutbox.campaign_id, WebhookOutbox.id)
            .where(
                WebhookOutbox.status == OutboxStatus.PENDING,
                WebhookOutbox.created_at < utcnow() - _grace(rt),
                WebhookOutbox.campaign_id.is_not(None),
            )
            .order_by(WebhookOutbox.id)
            .limit(SCAN_LIMIT)
        )
        return [
            webhook_job(rt.settings, str(campaign_id), outbox_id) for campaign_id, outbox_id in rows
        ]


async def _expire_stale_sends(rt: Runtime) -> int:
    from disparo.campaigns.sending import expire_stale_send

    limit = timedelta(seconds=rt.settings.send_deadline + rt.settings.stale_send_margin)
    async with rt.sessions() as session:
        rows = await session.execute(
            select(ProviderBatch.campaign_id, ProviderBatch.sequence).where(
                ProviderBatch.status == BatchStatus.SENDING,
                ProviderBatch.step == BatchStep.SEND,
                ProviderBatch.claimed_at < utcnow() - limit,
            )
        )
        stale = list(rows)
    for campaign_id, sequence in stale:
        await expire_stale_send(rt, campaign_id, sequence)
    return len(stale)
