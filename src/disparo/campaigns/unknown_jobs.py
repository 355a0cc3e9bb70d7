"""When a batch left UNKNOWN is asked about (where its provider can answer): a delayed job
added after the UNKNOWN ending commits, and the reconciler's scan for the ones Redis lost.

A batch is asked about once per claim: the batch's history (batch_attempts) says whether
the claim that went UNKNOWN was asked already (a row with one of ASKED_OUTCOMES at that
attempt), so the database, not Redis, knows what is still to ask."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import Exists, exists, func, select

from disparo.campaigns.fallback import SMS, batch_provider
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    BatchStep,
    Campaign,
    ProviderBatch,
)
from disparo.db.base import utcnow
from disparo.providers.base import Provider, ProviderCode
from disparo.providers.unknowns import ResolvesUnknown
from disparo.queues.jobs import PendingJob
from disparo.queues.names import QueueName, step_job_id
from disparo.runtime import Runtime

# The history outcomes of an answer (batch_attempts.outcome, at most 16 characters).
ASKED_SENT = "asked_sent"  # every recipient found: SENT
ASKED_PARTIAL = "asked_partial"  # some found: those SENT, the others FAILED
ASKED_RESEND = "asked_resend"  # none found: resent, once in the batch's life
ASKED_ABSENT = "asked_absent"  # none found, but resent once already: stays UNKNOWN
ASKED_NO_ANSWER = "asked_no_answer"  # the provider could not tell: stays UNKNOWN
ASKED_OUTCOMES = (ASKED_SENT, ASKED_PARTIAL, ASKED_RESEND, ASKED_ABSENT, ASKED_NO_ANSWER)
# The job id's step: `campaign:{id}:ask:{sequence}:{attempt}`, one per claim asked about.
ASK_STEP = "ask"
SCAN_LIMIT = 500
# The reconciler asks about batches that ended UNKNOWN this recently only: one found absent
# is resent, and a resend days later (or of a batch an operator already looked into, before
# this release asked at all) would surprise everyone; older ones stay the operator's.
ASK_WITHIN = timedelta(days=1)


def resolving_codes(providers: Mapping[ProviderCode, Provider]) -> list[str]:
    """The providers served here whose adapter can say what became of a batch."""
    return sorted(
        code for code, adapter in providers.items() if isinstance(adapter, ResolvesUnknown)
    )


def can_ask(rt: Runtime, campaign: Campaign, batch: ProviderBatch) -> bool:
    """A send batch whose sender (the campaign's provider, not an SMS route) can answer."""
    if batch.step != BatchStep.SEND or batch.channel == SMS:
        return False
    sender = batch_provider(rt.settings, rt.providers, campaign, batch.channel)
    return isinstance(sender, ResolvesUnknown)


def query_job(campaign: Campaign, batch: ProviderBatch, delay_s: float = 0.0) -> PendingJob:
    return PendingJob(
        QueueName.UNKNOWN_QUERIES,
        step_job_id(campaign.id, ASK_STEP, batch.sequence, batch.attempts),
        {"campaign_id": str(campaign.id), "sequence": batch.sequence, "attempt": batch.attempts},
        delay_s=delay_s,
    )


def ask_later(rt: Runtime, campaign: Campaign, batch: ProviderBatch) -> list[PendingJob]:
    """The job that asks about a batch just ended UNKNOWN, if its provider can answer."""
    if not can_ask(rt, campaign, batch):
        return []
    return [query_job(campaign, batch, rt.settings.unknown_resolve_delay)]


def claim_was_asked() -> Exists:
    """EXISTS an answer in the batch's history for its current claim (`attempts`)."""
    return exists().where(
        BatchAttempt.batch_id == ProviderBatch.id,
        BatchAttempt.attempt == ProviderBatch.attempts,
        BatchAttempt.outcome.in_(ASKED_OUTCOMES),
    )


async def unasked_unknowns(rt: Runtime) -> list[PendingJob]:
    """UNKNOWN send batches of providers that can answer, whose claim was never asked
    about, ended longer ago than the delay (plus the grace: their job may be on its way)."""
    codes = resolving_codes(rt.providers)
    if not codes:
        return []
    settings = rt.settings
    now = utcnow()
    ended_before = now - timedelta(
        seconds=settings.unknown_resolve_delay + settings.reconcile_grace
    )
    async with rt.sessions() as session:
        rows = await session.execute(
            select(Campaign, ProviderBatch)
            .join(ProviderBatch, ProviderBatch.campaign_id == Campaign.id)
            .where(
                ProviderBatch.status == BatchStatus.UNKNOWN,
                ProviderBatch.step == BatchStep.SEND,
                func.coalesce(ProviderBatch.channel, "") != SMS,
                Campaign.provider.in_(codes),
                ProviderBatch.finished_at < ended_before,
                ProviderBatch.finished_at > now - ASK_WITHIN,
                ~claim_was_asked(),
            )
            .limit(SCAN_LIMIT)
        )
        return [query_job(campaign, batch) for campaign, batch in rows]  # overdue: no delay
