"""Facts about batches that several readers need, each written once: which batches are dead
letters, and the attempt history of a batch. The API, the CLI, the dashboard and the metrics
read them through these functions, so they cannot drift apart."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    ProviderBatch,
)
from disparo.campaigns.unknown_jobs import ASKED_OUTCOMES

Columns = TypeVarTuple("Columns")


def runnable_campaign() -> ColumnElement[bool]:
    """A PENDING batch's campaign lets it run (of a query joining both): a send while the
    campaign is queued or processing, a second step (GOSAC start, Marketing Cloud run) once
    it closed COMPLETED; neither while the campaign is paused."""
    send = (ProviderBatch.step == BatchStep.SEND) & Campaign.status.in_(
        [CampaignStatus.QUEUED, CampaignStatus.PROCESSING]
    )
    step = (ProviderBatch.step != BatchStep.SEND) & (Campaign.status == CampaignStatus.COMPLETED)
    return (send | step) & Campaign.paused_at.is_(None)


def dead_letters_only(query: Select[*Columns]) -> Select[*Columns]:
    """`query` (of ProviderBatch and/or Campaign columns) narrowed to the dead letters:
    batches, sends and second steps, that ended FAILED with their attempts spent, of
    campaigns not cancelled (nobody wants those sent). Exactly what a redrive acts on."""
    return (
        query.select_from(ProviderBatch)
        .join(Campaign, Campaign.id == ProviderBatch.campaign_id)
        .where(
            ProviderBatch.status == BatchStatus.FAILED,
            ProviderBatch.dead_lettered_at.is_not(None),
            Campaign.status != CampaignStatus.CANCELLED,
        )
    )


async def attempt_histories(
    session: AsyncSession, batch_ids: list[int]
) -> dict[int, list[BatchAttempt]]:
    """Every try of the given batches, oldest first (callers pass a page of ids)."""
    if not batch_ids:
        return {}
    rows = await session.scalars(
        select(BatchAttempt)
        .where(BatchAttempt.batch_id.in_(batch_ids))
        .order_by(BatchAttempt.batch_id, BatchAttempt.id)
    )
    histories: dict[int, list[BatchAttempt]] = {}
    for row in rows:
        histories.setdefault(row.batch_id, []).append(row)
    return histories


@dataclass(frozen=True, slots=True)
class UnknownAnswer:
    """One answer of a provider about an UNKNOWN batch (unknown_answers.py)."""

    sequence: int
    outcome: str
    text: str
    at: datetime


async def unknown_answers(session: AsyncSession, campaign_id: uuid.UUID) -> list[UnknownAnswer]:
    """What the provider answered about the campaign's UNKNOWN batches, oldest first."""
    rows = await session.execute(
        select(
            ProviderBatch.sequence,
            BatchAttempt.outcome,
            BatchAttempt.error,
            BatchAttempt.created_at,
        )
        .join(ProviderBatch, ProviderBatch.id == BatchAttempt.batch_id)
        .where(
            ProviderBatch.campaign_id == campaign_id,
            BatchAttempt.outcome.in_(ASKED_OUTCOMES),
        )
        .order_by(BatchAttempt.id)
    )
    return [UnknownAnswer(seq, outcome, text or "", at) for seq, outcome, text, at in rows]


async def has_pending_steps(session: AsyncSession, campaign_id: uuid.UUID) -> bool:
    """A second step (GOSAC start, Marketing Cloud) still to run: a completed campaign's
    send window can still hold it."""
    pending = exists().where(
        ProviderBatch.campaign_id == campaign_id,
        ProviderBatch.step != BatchStep.SEND,
        ProviderBatch.status == BatchStatus.PENDING,
    )
    return bool(await session.scalar(select(pending)))
