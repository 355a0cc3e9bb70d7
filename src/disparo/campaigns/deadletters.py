"""Dead letters (rule 6): batches — sends and second steps (GOSAC start, Marketing Cloud
runs) — that spent their attempts, with their last error and attempt history, and their
redrive with fresh attempts.

The API (`GET /dead-letters`, `POST /dead-letters/{id}/redrive`, `POST /dead-letters/redrive`),
the CLI (`disparo dlq list`, `disparo dlq redrive`) and the dashboard call these functions.
A dead letter is identified by its batch id; which batches are dead letters is defined once,
in batch_queries.dead_letters_only (the metrics count the same).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

import structlog
from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.batch_queries import attempt_histories, dead_letters_only
from disparo.campaigns.controls import reopen_batches
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStep,
    Campaign,
    ProviderBatch,
)
from disparo.campaigns.repository import find_campaign, lock_campaign
from disparo.errors import NotFound
from disparo.queues.jobs import PendingJob, requeue
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_REDRIVE = 10_000  # batches per filtered redrive; run it again for more


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Every field optional; all given ones must match. `campaign` is a uuid or an
    agendamento_id, `provider` a provider code, `error` a case-insensitive substring of the
    last error."""

    campaign: str | None = None
    provider: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: int
    outcome: str
    status_code: int | None
    error: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int  # the batch id: what redrive takes
    campaign_id: uuid.UUID
    agendamento_id: str
    provider: str
    step: str  # send, or the second step (start, mkc) that spent its attempts
    sequence: int
    recipients: int
    attempts: int
    last_error: str | None
    dead_lettered_at: datetime
    history: list[AttemptView]


@dataclass(frozen=True, slots=True)
class DeadLetterTally:
    batches: int
    recipients: int  # a second step has none of its own


@dataclass(frozen=True, slots=True)
class RedriveResult:
    batches: int
    recipients: int
    campaigns: int
    batch_ids: list[int]


async def list_dead_letters(
    rt: Runtime, where: DeadLetterFilter | None = None, *, limit: int = 100, after: int = 0
) -> list[DeadLetter]:
    """Dead letters matching `where`, oldest batch id first, after batch id `after`
    (keyset pagination), each with its attempt history."""
    async with rt.sessions() as session:
        query = await _selected(session, where or DeadLetterFilter())
        rows = (
            await session.execute(
                query.where(ProviderBatch.id > after).order_by(ProviderBatch.id).limit(limit)
            )
        ).all()
        histories = await attempt_histories(session, [batch.id for batch, _ in rows])
    return [_view(batch, campaign, histories.get(batch.id, [])) for batch, campaign in rows]


async def count_dead_letters(rt: Runtime, where: DeadLetterFilter | None = None) -> int:
    """How many dead letters match: the preview shown before a filtered redrive."""
    return (await tally_dead_letters(rt, where)).batches


async def tally_dead_letters(rt: Runtime, where: DeadLetterFilter | None = None) -> DeadLetterTally:
    """How many dead letters match and how many recipients they hold."""
    async with rt.sessions() as session:
        query = await _selected(session, where or DeadLetterFilter())
        own = case((ProviderBatch.step == BatchStep.SEND, ProviderBatch.message_count), else_=0)
        found = query.with_only_columns(func.count(), func.coalesce(func.sum(own), 0))
        batches, recipients = (await session.execute(found)).one()
    return DeadLetterTally(int(batches or 0), int(recipients or 0))


async def redrive_dead_letter(rt: Runtime, batch_id: int) -> RedriveResult:
    """Send one dead letter again with fresh attempts. NotFound when `batch_id` is not a
    dead letter (never was, already redriven, or its campaign was cancelled)."""
    result = await _redrive(rt, [batch_id])
    if not result.batches:
        raise NotFound(f"Lote {batch_id} não é uma mensagem morta (já reenviado ou inexistente)")
    return result


async def redrive_dead_letters(
    rt: Runtime, where: DeadLetterFilter, *, limit: int = MAX_REDRIVE
) -> RedriveResult:
    """Redrive every dead letter matching `where` (up to `limit`). Show the operator
    `count_dead_letters(where)` first; the same filter selects the same batches."""
    async with rt.sessions() as session:
        query = await _selected(session, where)
        ids = list(
            await session.scalars(
                query.with_only_columns(ProviderBatch.id).order_by(ProviderBatch.id).limit(limit)
            )
        )
    return await _redrive(rt, ids)


async def redrive_batches(rt: Runtime, batch_ids: Sequence[int]) -> RedriveResult:
    """Redrive those of `batch_ids` (an operator's selection) that are dead letters now; the
    others (redriven meanwhile, never dead) are left alone and missing from the result."""
    return await _redrive(rt, batch_ids)


async def _redrive(rt: Runtime, batch_ids: Sequence[int]) -> RedriveResult:
    """One transaction per campaign, under its lock; a batch that stopped being a dead letter
    meanwhile (redriven by someone else) is left alone."""
    async with rt.sessions() as session:
        owners = (
            await session.execute(
                select(ProviderBatch.campaign_id, ProviderBatch.id)
                .where(ProviderBatch.id.in_(list(batch_ids)))
                .order_by(ProviderBatch.campaign_id)
            )
        ).all()
    jobs: list[PendingJob] = []
    done: list[int] = []
    recipients = campaigns = 0
    for campaign_id, group in groupby(owners, key=lambda row: row[0]):
        ids = [row[1] for row in group]
        async with rt.sessions() as session, session.begin():
            campaign = await lock_campaign(session, campaign_id)
            batches = await _still_dead(session, ids)
            if not batches:
                continue
            new_jobs, moved = await reopen_batches(
                session, rt.settings, campaign, batches, "redrive de mensagem morta"
            )
        jobs += new_jobs
        done += [batch.id for batch in batches]
        recipients += moved
        campaigns += 1
    await requeue(rt.queues, jobs)
    log.info("deadletters.redriven", batches=len(done), recipients=recipients)
    return RedriveResult(len(done), recipients, campaigns, done)


async def _still_dead(session: AsyncSession, ids: list[int]) -> list[ProviderBatch]:
    """Those of `ids` that are dead letters now (the caller holds their campaign's lock)."""
    rows = await session.scalars(
        dead_letters_only(select(ProviderBatch)).where(ProviderBatch.id.in_(ids))
    )
    return list(rows.all())


async def _selected(
    session: AsyncSession, where: DeadLetterFilter
) -> Select[ProviderBatch, Campaign]:
    query = dead_letters_only(select(ProviderBatch, Campaign))
    if where.campaign:
        campaign = await find_campaign(session, where.campaign)
        if campaign is None:
            raise NotFound("Campanha não encontrada")
        query = query.where(ProviderBatch.campaign_id == campaign.id)
    if where.provider:
        query = query.where(Campaign.provider == where.provider.upper())
    if where.error:
        pattern = "%" + where.error.lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(func.lower(ProviderBatch.last_error).like(pattern, escape="\\"))
    return query


def _view(batch: ProviderBatch, campaign: Campaign, history: list[BatchAttempt]) -> DeadLetter:
    assert batch.dead_lettered_at is not None
    return DeadLetter(
        id=batch.id,
        campaign_id=campaign.id,
        agendamento_id=campaign.agendamento_id,
        provider=campaign.provider,
        step=batch.step,
        sequence=batch.sequence,
        recipients=batch.message_count,
        attempts=batch.attempts,
        last_error=batch.last_error,
        dead_lettered_at=batch.dead_lettered_at,
        history=[
            AttemptView(row.attempt, row.outcome, row.status_code, row.error, row.created_at)
            for row in history
        ],
    )
