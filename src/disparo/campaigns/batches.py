"""One lifecycle for every batch: a send (one provider request) and a second step (GOSAC
start, a Marketing Cloud run) move through the same states, here and nowhere else.

    PENDING --claim--> SENDING --sent / step_done---------------> SENT
       ^                  |------ retry (backoff, Retry-After) --> PENDING, a new job id
       |                  |------ retry, attempts spent ---------> FAILED, a dead letter
       |                  |------ unknown (may have acted) ------> UNKNOWN, or retried when
       |                  |                                        the provider deduplicates
       |                  '------ fail (refused) ----------------> FAILED
       '-- give_back (claimed, the rate limiter asks for a long wait: not counted)

A move takes what the caller holds: a `BatchKey` for a batch still PENDING (nothing was
sent: its credentials could not be had, no route serves it), or the `Claimed` that `claim`
handed out for a batch SENDING. A claim is one claim, not any: once it was judged (its
worker presumed dead) and the batch claimed again, the old holder's moves must not touch
the new claim, so a `Claimed` names its attempt and holder and every move re-checks both
(`claim_is_current`). Each move is one transaction under the campaign row lock (it orders
every outcome of the campaign), does nothing when the batch is no longer where the caller
held it (another outcome got there first), and enqueues the jobs it decided only after
commit (rule 2). What an ending does to recipients, counters and webhooks is in
batch_endings.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, Update, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.batch_endings import Locked, Report, end_batch, record_accepted
from disparo.campaigns.models import (
    TERMINAL_CAMPAIGN,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.opt_outs import end_all_opted_out, skip_opted_out
from disparo.campaigns.outcomes import (
    batch_job,
    cancel_batch,
    finish_if_done,
    mark_processing,
    record_attempt,
)
from disparo.campaigns.repository import lock_campaign
from disparo.db.base import utcnow
from disparo.metrics import record_retry
from disparo.providers.base import Recipient, SendResult
from disparo.providers.policy import ProviderPolicy
from disparo.queues.heartbeat import holder
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime

__all__ = ["BatchKey", "Claimed", "Report"]

log = structlog.get_logger(__name__)

# In Recipient's field order; NULLs become "" in SQL so rows map onto it as they are.
RECIPIENT_COLUMNS = (
    CampaignMessage.id,
    *(
        func.coalesce(column, "")
        for column in (
            CampaignMessage.phone,
            CampaignMessage.name,
            CampaignMessage.cpf_cnpj,
            CampaignMessage.id_carteira,
            CampaignMessage.idgis_ambiente,
            CampaignMessage.idcob_contrato,
            CampaignMessage.message,
        )
    ),
    # NULL unless the provider keeps the row's extra fields (`needs_row_extra`).
    CampaignMessage.extra,
)


@dataclass(frozen=True, slots=True)
class BatchKey:
    """Which batch: a provider_batches row is unique by (campaign, step, sequence)."""

    campaign_id: uuid.UUID
    step: str
    sequence: int

    @classmethod
    def send(cls, campaign_id: uuid.UUID, sequence: int) -> BatchKey:
        return cls(campaign_id, BatchStep.SEND, sequence)

    def claimed(self, attempt: int, holder: str | None) -> Claimed:
        """A claim seen by a judge (a sweeper, the reconciler): the one it decided on."""
        return Claimed(self, attempt, holder)


@dataclass(frozen=True, slots=True, eq=False)
class Claimed:
    """A won claim: the batch is SENDING for this worker. `attempt` is the batch's `attempts`
    the claim set (every claim and requeue moves it, so it names this claim), `holder` the
    heartbeat id that made it (None outside a beating worker). A send's recipients come
    with it."""

    key: BatchKey
    attempt: int
    holder: str | None
    recipients: list[Recipient] = field(default_factory=list)
    # How many recipients the send carries: len(recipients), or the count of a batch
    # claimed without them (its adapter reads them in chunks: recipient_chunks).
    size: int = 0


Held = BatchKey | Claimed


# What a judge (a dead-worker sweep, the reconciler) reads of a claim: it then acts on that
# claim only, not on whichever holds the batch by the time it acts (claim_is_current).
SEEN_CLAIM = (
    ProviderBatch.campaign_id,
    ProviderBatch.step,
    ProviderBatch.sequence,
    ProviderBatch.attempts,
    ProviderBatch.claimed_by,
)


def seen_claim(row: Sequence[Any]) -> Claimed:
    """The claim a row of SEEN_CLAIM columns describes."""
    campaign_id, step, sequence, attempt, holder = row
    return BatchKey(campaign_id, step, sequence).claimed(attempt, holder)


def _key(held: Held) -> BatchKey:
    return held.key if isinstance(held, Claimed) else held


def _is_key(key: BatchKey) -> tuple[ColumnElement[bool], ...]:
    return (
        ProviderBatch.campaign_id == key.campaign_id,
        ProviderBatch.step == key.step,
        ProviderBatch.sequence == key.sequence,
    )


def claim_is_current(claimed: Claimed) -> tuple[ColumnElement[bool], ...]:
    """WHERE this very claim still holds its batch: SENDING, not judged and claimed again
    since (the attempt), by the same worker (the holder). `claim_attempt` equals `attempts`
    for every claim this release makes, so the attempt alone names it; a claim left SENDING
    by a release before 0010 (claim_attempt NULL) can still be judged by the reconciler."""
    return (
        *_is_key(claimed.key),
        ProviderBatch.status == BatchStatus.SENDING,
        ProviderBatch.attempts == claimed.attempt,
        ProviderBatch.claimed_by.is_not_distinct_from(claimed.holder),
    )


def _still_held(held: Held) -> tuple[ColumnElement[bool], ...]:
    if isinstance(held, Claimed):
        return claim_is_current(held)
    return (*_is_key(held), ProviderBatch.status == BatchStatus.PENDING)


async def find(session: AsyncSession, key: BatchKey, *, lock: bool = False) -> ProviderBatch | None:
    query = select(ProviderBatch).where(*_is_key(key))
    return await session.scalar(query.with_for_update() if lock else query)


async def _locked(session: AsyncSession, held: Held) -> tuple[Campaign, ProviderBatch | None]:
    """The campaign row lock first (it orders every outcome of the campaign), then the batch,
    None unless it is still where the caller held it (PENDING, or this claim SENDING)."""
    campaign = await lock_campaign(session, _key(held).campaign_id)
    batch = await session.scalar(select(ProviderBatch).where(*_still_held(held)).with_for_update())
    if batch is None and isinstance(held, Claimed):
        # Judged (its worker presumed dead) and perhaps claimed again: not ours to move.
        log.error(
            "batch.claim_lost",
            reason="judged while this worker was away; its move is not made",
            step=str(held.key.step),
            batch=held.key.sequence,
            attempt=held.attempt,
        )
    return campaign, batch


def _may_claim(campaign: Campaign, step: str) -> bool:
    if step != BatchStep.SEND:
        return campaign.status == CampaignStatus.COMPLETED  # a cancelled one does not start
    return campaign.status not in TERMINAL_CAMPAIGN and campaign.paused_at is None


def claim_update(key: BatchKey) -> Update:
    """PENDING -> SENDING in one conditional UPDATE: of two workers, one sees rowcount 1.
    It returns the claim's attempt."""
    return (
        update(ProviderBatch)
        .where(*_still_held(key))
        .values(
            status=BatchStatus.SENDING,
            attempts=ProviderBatch.attempts + 1,
            claimed_at=utcnow(),
            due_at=None,
            # Who holds this claim, and which one it is; no request has left for it yet
            # (campaigns/liveness.py judges a dead holder's batch by these).
            claimed_by=holder(),
            claim_attempt=ProviderBatch.attempts + 1,
            request_at=None,
        )
        .returning(ProviderBatch.attempts)
    )


async def claim(rt: Runtime, key: BatchKey, *, with_recipients: bool = True) -> Claimed | None:
    """PENDING -> SENDING in one conditional UPDATE: of two workers, only one wins a batch.
    The first send claimed puts the campaign in PROCESSING (WordPress hears `processando`).
    Recipients suppressed since ingest are skipped (opt-out); None when nobody is left.
    `with_recipients` False: only counted, for an adapter that reads them in chunks."""
    jobs: list[PendingJob] = []
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, key.campaign_id)
        if not _may_claim(campaign, key.step):
            return None
        attempt = await session.scalar(claim_update(key))
        if attempt is None:
            return None
        if key.step != BatchStep.SEND:
            return Claimed(key, attempt, holder())
        jobs = await mark_processing(session, rt.settings, campaign)
        # Suppressed since ingest: skipped here, never sent (the counts follow).
        opted_out = await skip_opted_out(session, campaign, key.sequence)
        recipients: list[Recipient] = []
        if with_recipients:
            recipients = list(map(Recipient._make, await session.execute(_to_send(key))))
            size = len(recipients)
        else:
            counted = _to_send(key).with_only_columns(func.count()).order_by(None)
            size = await session.scalar(counted) or 0
        all_opted_out = opted_out > 0 and not size
        if all_opted_out:
            jobs += await _end_opted_out(session, rt, campaign, key)
    await enqueue_all(rt.queues, jobs)
    return None if all_opted_out else Claimed(key, attempt, holder(), recipients, size)


def _to_send(key: BatchKey) -> Select[*tuple[Any, ...]]:
    """The send batch's recipients still PENDING, in id order, as Recipient rows."""
    return (
        select(*RECIPIENT_COLUMNS)
        .where(
            CampaignMessage.campaign_id == key.campaign_id,
            CampaignMessage.batch_seq == key.sequence,
            CampaignMessage.status == MessageStatus.PENDING,
        )
        .order_by(CampaignMessage.id)
    )


async def recipient_chunks(rt: Runtime, claimed: Claimed) -> AsyncGenerator[list[Recipient]]:
    """A batch claimed without its recipients: them, `DISPARO_SEND_READ_CHUNK` at a time, from
    one server-side cursor (one read, not a query per chunk). Nothing else moves them while
    the claim holds the batch, so this read after the claim's commit sees what it counted.
    Read on the session's Core connection: the ORM's result machinery (`session.stream`)
    costs a quarter more per row for the plain columns this is."""
    query = _to_send(claimed.key).execution_options(yield_per=rt.settings.send_read_chunk)
    async with rt.sessions() as session:
        connection = await session.connection()
        rows = await connection.stream(query)
        async for chunk in rows.partitions():
            yield list(map(Recipient._make, chunk))


async def _end_opted_out(
    session: AsyncSession, rt: Runtime, campaign: Campaign, key: BatchKey
) -> list[PendingJob]:
    batch = await find(session, key, lock=True)
    assert batch is not None  # just claimed under the campaign lock
    end_all_opted_out(session, batch)
    return await finish_if_done(session, rt.settings, campaign)


# The attempt-history outcome of a batch held back by its account's circuit breaker (the
# campaign status shows the newest one as `waiting_for`).
WAITING_OUTCOME = "waiting_provider"


async def give_back(rt: Runtime, claimed: Claimed, wait: float, reason: str = "") -> None:
    """Claimed, but the limiter now asks for a long wait (a Retry-After arrived meanwhile),
    or the account's breaker holds it (`reason` says so, as `defer`'s does): back to PENDING
    unsent, the claim not counted against the attempt limit. A breaker's wait adds no
    delayed job: one would share the id a wake-up's job needs (wake_waiting)."""
    log.info("send.given_back_by_rate_limit", wait_s=round(wait, 2))
    jobs: list[PendingJob] = []
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, claimed)
        if batch is None:
            return
        if campaign.status == CampaignStatus.CANCELLED:
            await cancel_batch(session, campaign, batch)  # cancelled while it waited
            return
        batch.status, batch.due_at = BatchStatus.PENDING, utcnow() + timedelta(seconds=wait)
        batch.uncounted_attempts += 1
        if reason:  # as `defer`: the reconciler enqueues it when due, or a wake-up sooner
            record_attempt(session, batch, WAITING_OUTCOME, reason)
            return
        record_attempt(session, batch, "deferred", f"limite de envio: {wait:.1f} s")
        jobs = [batch_job(campaign, batch)]
    await enqueue_all(rt.queues, jobs)


async def defer(rt: Runtime, key: BatchKey, wait: float, reason: str = "") -> None:
    """The account is paused or its limit is taken for longer than a worker should wait
    (or its circuit breaker is open: `reason` says so): the batch stays PENDING, due then,
    and the reconciler enqueues it at that time. No attempt is spent."""
    log.info("send.deferred_by_rate_limit", wait_s=round(wait, 2), reason=reason or None)
    async with rt.sessions() as session, session.begin():
        _, batch = await _locked(session, key)
        if batch is not None:
            batch.due_at = utcnow() + timedelta(seconds=wait)
            text = reason or f"limite de envio: {wait:.1f} s"
            record_attempt(session, batch, WAITING_OUTCOME if reason else "deferred", text)


async def hold_for_window(rt: Runtime, key: BatchKey, opens_at: datetime, reason: str) -> None:
    """Outside its send window: the batch stays PENDING, unclaimed (no attempt spent), due
    when the window opens; the database holds that time, so the reconciler enqueues it then
    whatever Redis lost meanwhile."""
    log.info("send.held_by_window", opens_at=opens_at.isoformat(), step=str(key.step))
    async with rt.sessions() as session, session.begin():
        _, batch = await _locked(session, key)
        if batch is not None and batch.due_at != opens_at:
            batch.due_at = opens_at
            record_attempt(session, batch, "window", reason)


async def sent(rt: Runtime, claimed: Claimed, result: SendResult) -> None:
    """The provider took the send batch (its per-recipient report included)."""
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, claimed)
        if batch is None:
            return  # the provider took it, but the claim was judged: its judgement stands
        at = Locked(session, rt, campaign, batch)
        jobs = await record_accepted(at, result, claimed.size)
    await enqueue_all(rt.queues, jobs)


async def step_done(rt: Runtime, claimed: Claimed, answer: str) -> None:
    """A second step ran: SENT with the provider's answer."""
    await _end(rt, claimed, BatchStatus.SENT, Report(answer))


async def fail(rt: Runtime, held: Held, report: Report) -> None:
    """Refused (or nobody can send it): FAILED, not retried."""
    await _end(rt, held, BatchStatus.FAILED, report)


async def unknown(rt: Runtime, claimed: Claimed, policy: ProviderPolicy, report: Report) -> None:
    """The provider may have the batch. UNKNOWN (an operator decides), unless its policy
    says resending is harmless (it deduplicates; an idempotent step): then it is retried."""
    if policy.deduplicates:
        await retry(rt, claimed, policy, report)
    else:
        await _end(rt, claimed, BatchStatus.UNKNOWN, report)


async def _end(rt: Runtime, held: Held, status: BatchStatus, report: Report) -> None:
    jobs: list[PendingJob] = []
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, held)
        if batch is None:
            return  # another outcome got there first
        error = None if status == BatchStatus.SENT else report.text  # an answer is no error
        record_attempt(session, batch, status.value.lower(), error, report.status_code)
        jobs = await end_batch(Locked(session, rt, campaign, batch), status, report)
    await enqueue_all(rt.queues, jobs)


async def retry(
    rt: Runtime, held: Held, policy: ProviderPolicy, report: Report, *, counted: bool = True
) -> None:
    """The provider did not act: back to PENDING, due after the policy's backoff (at least
    its Retry-After), or a dead letter once the attempts since the last redrive are spent.
    `counted` False: the try was a circuit breaker's probe of an account already known to
    be down, so it spends none of the batch's attempts (an outage never ends in a dead
    letter by itself)."""
    jobs: list[PendingJob] = []
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, held)
        if batch is None:
            return
        if isinstance(held, BatchKey):
            # Never claimed, so nothing reached the provider, but it still counts: the job
            # id changes with it, and a WordPress that stays down ends in a dead letter.
            batch.attempts += 1
        elif not counted:
            batch.uncounted_attempts += 1
        jobs = await _retry_or_dead_letter(Locked(session, rt, campaign, batch), policy, report)
    await enqueue_all(rt.queues, jobs)


async def _retry_or_dead_letter(
    at: Locked, policy: ProviderPolicy, report: Report
) -> list[PendingJob]:
    session, campaign, batch = at.session, at.campaign, at.batch
    if campaign.status == CampaignStatus.CANCELLED:
        await cancel_batch(session, campaign, batch)  # cancelled while this one was out
        return []
    tries = batch.attempts - batch.uncounted_attempts
    if tries >= policy.max_attempts:
        spent = report.spent()
        record_attempt(session, batch, "dead_letter", spent.text, spent.status_code)
        batch.dead_lettered_at = utcnow()
        return await end_batch(at, BatchStatus.FAILED, spent)
    delay = policy.backoff(tries, report.retry_after)
    record_attempt(session, batch, "retry", report.text, report.status_code)
    batch.status, batch.last_error = BatchStatus.PENDING, report.text
    batch.due_at = utcnow() + timedelta(seconds=delay)
    log.info("batch.retry_scheduled", step=str(batch.step), delay_s=round(delay, 2), attempt=tries)
    record_retry(campaign.provider)
    return [batch_job(campaign, batch)]  # a new id: it carries the new attempt count
