"""Dead letters (rule 6): send batches that spent their attempts, with their last error and
attempt history, and their redrive with fresh attempts.

The API (`GET /dead-letters`, `POST /dead-letters/{id}/redrive`, `POST /dead-letters/redrive`),
the CLI (`disparo dlq list`, `disparo dlq redrive`) and the dashboard call these functions.
A dead letter is identified by its batch id. Batches of cancelled campaigns are not dead
letters: nobody wants them sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

import structlog
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.controls import reopen_batches, requeue
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    ProviderBatch,
)
from disparo.campaigns.repository import find_campaign, lock_campaign
from disparo.errors import NotFound
from disparo.queues.jobs import PendingJob
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
    sequence: int
    recipients: int
    attempts: int
    last_error: str | None
    dead_lettered_at: datetime
    history: list[AttemptView]


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
        histories = await _histories(session, [batch.id for batch, _ in rows])
    return [_view(batch, campaign, histories.get(batch.id, [])) for batch, campaign in rows]


async def count_dead_letters(rt: Runtime, where: DeadLetterFilter | None = None) -> int:
    """How many dead letters match: the preview shown before a filtered redrive."""
    async with rt.sessions() as session:
        query = await _selected(session, where or DeadLetterFilter())
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
    return int(total or 0)


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
            batches = await _still_dead(session, campaign, ids)
            if not batches:
                continue
            new_jobs, moved = await reopen_batches(
                session, rt.settings, campaign, batches, "redrive de mensagem morta"
            )
        jobs += new_jobs
        done += [batch.id for batch in batches]
        recipients += moved
        campaigns += 1
    await requeue(rt, jobs)
    log.info("deadletters.redriven", batches=len(done), recipients=recipients)
    return RedriveResult(len(done), recipients, campaigns, done)


async def _still_dead(
    session: AsyncSession, campaign: Campaign, ids: list[int]
) -> list[ProviderBatch]:
    if campaign.status == CampaignStatus.CANCELLED:
        return []
    rows = await session.scalars(
        select(ProviderBatch).where(
            ProviderBatch.id.in_(ids),
            ProviderBatch.status == BatchStatus.FAILED,
            ProviderBatch.dead_lettered_at.is_not(None),
        )
    )
    return list(rows.all())


async def _selected(
    session: AsyncSession, where: DeadLetterFilter
) -> Select[ProviderBatch, Campaign]:
    query = (
        select(ProviderBatch, Campaign)
        .join(Campaign, Campaign.id == ProviderBatch.campaign_id)
        .where(
            ProviderBatch.status == BatchStatus.FAILED,
            ProviderBatch.step == BatchStep.SEND,
            ProviderBatch.dead_lettered_at.is_not(None),
            Campaign.status != CampaignStatus.CANCELLED,
        )
    )
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


async def _histories(session: AsyncSession, batch_ids: list[int]) -> dict[int, list[AttemptView]]:
    if not batch_ids:
        return {}
    rows = await session.scalars(
        select(BatchAttempt)
        .where(BatchAttempt.batch_id.in_(batch_ids))
        .order_by(BatchAttempt.batch_id, BatchAttempt.id)
    )
    histories: dict[int, list[AttemptView]] = {}
    for row in rows:
        histories.setdefault(row.batch_id, []).append(
            AttemptView(row.attempt, row.outcome, row.status_code, row.error, row.created_at)
        )
    return histories


def _view(batch: ProviderBatch, campaign: Campaign, history: list[AttemptView]) -> DeadLetter:
    assert batch.dead_lettered_at is not None
    return DeadLetter(
        id=batch.id,
        campaign_id=campaign.id,
        agendamento_id=campaign.agendamento_id,
        provider=campaign.provider,
        sequence=batch.sequence,
        recipients=batch.message_count,
        attempts=batch.attempts,
        last_error=batch.last_error,
        dead_lettered_at=batch.dead_lettered_at,
        history=history,
    )
