"""What a provider's answer about an UNKNOWN batch does to it (unknown_queries.py asks).

    every recipient found -> SENT (the request was carried out)
    some found            -> SENT, the others FAILED: the provider creates records one by one
                             (Salesforce's allOrNone false), so the request was processed and
                             the missing ones were refused; resending them could not be
                             told apart from a duplicate, so they are never resent
    none found            -> resent, once in the batch's life (back to PENDING, as an
                             operator's retry-unknown would); found absent again after that,
                             or on a cancelled campaign, it stays UNKNOWN
    no answer             -> stays UNKNOWN for an operator, with the reason

Each answer is one row of the batch's history. It is applied under the campaign row lock
and only to the very claim that was asked about, still UNKNOWN and not yet answered: of
two workers asking at once, one applies its answer, so a batch is never resent twice. A
campaign already closed (its final webhook gone with the batch UNKNOWN) is closed again,
as after an operator's retry: its counters are moved and WordPress hears the new totals.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.batch_endings import Locked
from disparo.campaigns.controls import FINISHED, reopen_batches
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    BatchStep,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import finish_if_done, record_attempt
from disparo.campaigns.repository import lock_campaign
from disparo.campaigns.unknown_jobs import (
    ASKED_ABSENT,
    ASKED_NO_ANSWER,
    ASKED_PARTIAL,
    ASKED_RESEND,
    ASKED_SENT,
    claim_was_asked,
)
from disparo.db.base import utcnow
from disparo.providers.unknowns import ReceivedPhones
from disparo.queues.jobs import PendingJob, requeue
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

NOT_CREATED = "{provider} não criou este registro (consulta após o envio sem resposta)"
STAYS = "continua UNKNOWN (operador: retry-unknown)"


@dataclass(frozen=True, slots=True)
class Said:
    """A history line of an answer: what was found, the verdict, then what was asked."""

    found: str
    answer: ReceivedPhones

    def __call__(self, verdict: str, *more: str) -> str:
        return "; ".join((f"{self.found} {verdict}", *more)) + f" ({self.answer.asked})"


@dataclass(frozen=True, slots=True)
class AskedClaim:
    """The claim asked about: the batch and the `attempts` value that claim set."""

    campaign_id: uuid.UUID
    sequence: int
    attempt: int
    provider_label: str


async def record_answer(rt: Runtime, asked: AskedClaim, answer: ReceivedPhones) -> None:
    await _apply(rt, asked, answer)


async def record_no_answer(rt: Runtime, asked: AskedClaim, reason: str) -> None:
    await _apply(rt, asked, reason)


async def _apply(rt: Runtime, asked: AskedClaim, answer: ReceivedPhones | str) -> None:
    jobs: list[PendingJob] = []
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, asked.campaign_id)
        batch = await _unanswered(session, asked)
        if batch is None:
            return  # answered by another worker, retried by an operator, or gone
        at = Locked(session, rt, campaign, batch)
        if isinstance(answer, str):
            label = asked.provider_label
            await _stays_unknown(at, f"consulta ao {label} sem resposta → {STAYS}: {answer}")
        else:
            jobs = await _settle(at, asked, answer)
    await requeue(rt.queues, jobs)  # a resend's job id may be its last claim's, kept done


async def _unanswered(session: AsyncSession, asked: AskedClaim) -> ProviderBatch | None:
    """The batch, locked, if it is still UNKNOWN from the claim asked about, unanswered."""
    return await session.scalar(
        select(ProviderBatch)
        .where(
            ProviderBatch.campaign_id == asked.campaign_id,
            ProviderBatch.step == BatchStep.SEND,
            ProviderBatch.sequence == asked.sequence,
            ProviderBatch.status == BatchStatus.UNKNOWN,
            ProviderBatch.attempts == asked.attempt,
            ~claim_was_asked(),
        )
        .with_for_update()
    )


async def _settle(at: Locked, asked: AskedClaim, answer: ReceivedPhones) -> list[PendingJob]:
    rows = (
        await at.session.execute(
            select(CampaignMessage.id, CampaignMessage.phone).where(
                CampaignMessage.campaign_id == at.campaign.id,
                CampaignMessage.batch_seq == at.batch.sequence,
                CampaignMessage.status == MessageStatus.UNKNOWN,
            )
        )
    ).all()
    found = [message_id for message_id, phone in rows if phone in answer.found]
    missing = [message_id for message_id, phone in rows if phone not in answer.found]
    # The verdict first: the dashboard shows a history line's first 160 characters.
    said = Said(f"consulta ao {asked.provider_label}: {len(found)}/{len(rows)} contatos", answer)
    if not found:
        return await _absent(at, said)
    if missing:
        outcome = ASKED_PARTIAL
        text = said("encontrados → SENT", f"{len(missing)} não criados → FAILED, não reenviados")
    else:
        outcome, text = ASKED_SENT, said("encontrados → SENT")
    record_attempt(at.session, at.batch, outcome, text)
    log.warning("unknown.answered", verdict=outcome, found=len(found), missing=len(missing))
    await _mark_sent(at, found, missing, NOT_CREATED.format(provider=asked.provider_label))
    at.batch.response = text
    return await _close_again(at)


async def _mark_sent(at: Locked, found: Sequence[int], missing: Sequence[int], why: str) -> None:
    """Found: PENDING again, so they read SENT from their batch, like every accepted
    batch's recipients (repository.EFFECTIVE_STATUS); missing: FAILED with the reason."""
    session, campaign, batch = at.session, at.campaign, at.batch
    for ids, values in (
        (found, {"status": MessageStatus.PENDING, "last_error": None}),
        (missing, {"status": MessageStatus.FAILED, "last_error": why}),
    ):
        if ids:
            await session.execute(
                update(CampaignMessage)
                .where(CampaignMessage.id.in_(ids))
                .values(**values, attempts=batch.attempts)
            )
    campaign.unknown_messages -= len(found) + len(missing)
    campaign.sent_messages += len(found)
    campaign.failed_messages += len(missing)
    batch.status, batch.finished_at, batch.last_error = BatchStatus.SENT, utcnow(), None
    batch.sent_count, batch.failed_count = len(found), len(missing)


async def _close_again(at: Locked) -> list[PendingJob]:
    """The campaign's counters moved: a campaign already closed closes again, and WordPress
    hears its final status with the new totals (as after an operator's retry-unknown); one
    still running closes when its last batch ends, as always. A cancelled one stays so."""
    campaign = at.campaign
    if campaign.status in FINISHED:
        campaign.status, campaign.completed_at, campaign.error_message = (
            CampaignStatus.PROCESSING,
            None,
            None,
        )
    return await finish_if_done(at.session, at.rt.settings, campaign)


async def _absent(at: Locked, said: Said) -> list[PendingJob]:
    """Provably not received: resent, unless it was once already (or the campaign was
    cancelled): a second automatic resend could repeat a first one that did arrive late."""
    if at.campaign.status == CampaignStatus.CANCELLED:
        await _stays_unknown(at, said(f"encontrados, campanha cancelada → {STAYS}"), ASKED_ABSENT)
        return []
    if await _resent_before(at.session, at.batch):
        text = said(f"encontrados, já reenviado uma vez → {STAYS}")
        await _stays_unknown(at, text, ASKED_ABSENT)
        return []
    text = said("encontrados → reenviado uma vez")
    record_attempt(at.session, at.batch, ASKED_RESEND, text)
    log.warning("unknown.answered", verdict=ASKED_RESEND, found=0)
    jobs, _ = await reopen_batches(
        at.session, at.rt.settings, at.campaign, [at.batch], text, by="automático"
    )
    return jobs


async def _resent_before(session: AsyncSession, batch: ProviderBatch) -> bool:
    resent = exists().where(BatchAttempt.batch_id == batch.id, BatchAttempt.outcome == ASKED_RESEND)
    return bool(await session.scalar(select(resent)))


async def _stays_unknown(at: Locked, text: str, outcome: str = ASKED_NO_ANSWER) -> None:
    """The batch and its recipients keep UNKNOWN; their error says what was asked and why it
    did not settle them (the API's messages show it, the operator decides)."""
    record_attempt(at.session, at.batch, outcome, text)
    log.warning("unknown.unresolved", verdict=outcome, reason=text)
    batch = at.batch
    batch.last_error = f"{batch.last_error}; {text}" if batch.last_error else text
    await at.session.execute(
        update(CampaignMessage)
        .where(
            CampaignMessage.campaign_id == batch.campaign_id,
            CampaignMessage.batch_seq == batch.sequence,
            CampaignMessage.status == MessageStatus.UNKNOWN,
        )
        .values(last_error=batch.last_error)
    )
