"""The reads of the dashboard's Dead letters page: the batches an operator has to decide
about, across campaigns. FAILED are the dead letters (batches that spent their attempts,
batch_queries.dead_letters_only: the count on the Queues page and what a redrive takes);
UNKNOWN are sends the provider may or may not have (retry_unknown resends them). Both are
few, and ix_provider_batches_status finds them without reading the sent batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    ProviderBatch,
)
from disparo.dashboard.queries import PAGE

STATUSES = (BatchStatus.FAILED, BatchStatus.UNKNOWN)
# The age filter: (label, newer than, older than). The batch's age is since it became a
# dead letter, or since its last answer for an UNKNOWN one.
AGES: dict[str, tuple[str, timedelta | None, timedelta | None]] = {
    "1h": ("last hour", timedelta(hours=1), None),
    "24h": ("last 24 hours", timedelta(hours=24), None),
    "older": ("older than 24 hours", None, timedelta(hours=24)),
}


@dataclass(frozen=True, slots=True)
class ProblemFilter:
    """Every field optional; all given must match. `error`: a case-insensitive substring of
    the batch's last error (an HTTP status, "timeout", a provider's words)."""

    campaign_id: uuid.UUID | None = None
    provider: str | None = None
    status: BatchStatus | None = None
    error: str | None = None
    age: str | None = None


def _since() -> ColumnElement[datetime]:
    return func.coalesce(
        ProviderBatch.dead_lettered_at, ProviderBatch.finished_at, ProviderBatch.updated_at
    )


def _of_status(status: BatchStatus | None) -> ColumnElement[bool]:
    # UNKNOWN: sends only, as retry_unknown reopens only those.
    unknown = and_(
        ProviderBatch.status == BatchStatus.UNKNOWN, ProviderBatch.step == BatchStep.SEND
    )
    # FAILED with its attempts spent: a dead letter.
    dead = and_(
        ProviderBatch.status == BatchStatus.FAILED, ProviderBatch.dead_lettered_at.isnot(None)
    )
    if status == BatchStatus.FAILED:
        return dead
    if status == BatchStatus.UNKNOWN:
        return unknown
    return or_(dead, unknown)


def problems_query(where: ProblemFilter, now: datetime) -> Select[ProviderBatch, Campaign]:
    # As batch_queries.dead_letters_only, with UNKNOWN sends beside the dead letters; a test
    # (test_dead_letters_page) holds the FAILED count to that function's.
    query = (
        select(ProviderBatch, Campaign)
        .join(Campaign, Campaign.id == ProviderBatch.campaign_id)
        .where(_of_status(where.status), Campaign.status != CampaignStatus.CANCELLED)
    )
    if where.campaign_id is not None:
        query = query.where(ProviderBatch.campaign_id == where.campaign_id)
    if where.provider:
        query = query.where(Campaign.provider == where.provider)
    if where.error:
        escaped = where.error.lower().replace("%", r"\%").replace("_", r"\_")
        query = query.where(func.lower(ProviderBatch.last_error).like(f"%{escaped}%", escape="\\"))
    if where.age in AGES:
        _, newer, older = AGES[where.age]
        if newer is not None:
            query = query.where(_since() >= now - newer)
        if older is not None:
            query = query.where(_since() < now - older)
    return query


@dataclass(frozen=True, slots=True)
class Problem:
    batch: ProviderBatch
    campaign: Campaign


async def problem_page(
    session: AsyncSession, where: ProblemFilter, now: datetime, before: int | None
) -> tuple[list[Problem], int | None]:
    """A page of matching batches, newest batch id first; the cursor of the next page."""
    query = problems_query(where, now)
    if before is not None:
        query = query.where(ProviderBatch.id < before)
    rows = (await session.execute(query.order_by(ProviderBatch.id.desc()).limit(PAGE + 1))).all()
    found = [Problem(batch, campaign) for batch, campaign in rows[:PAGE]]
    return found, (found[-1].batch.id if len(rows) > PAGE else None)


@dataclass(frozen=True, slots=True)
class Tally:
    batches: int = 0
    recipients: int = 0


async def tally(session: AsyncSession, where: ProblemFilter, now: datetime) -> dict[str, Tally]:
    """Matching batches and their recipients, by status (FAILED, UNKNOWN)."""
    own = case((ProviderBatch.step == BatchStep.SEND, ProviderBatch.message_count), else_=0)
    query = (
        problems_query(where, now)
        .with_only_columns(ProviderBatch.status, func.count(), func.coalesce(func.sum(own), 0))
        .group_by(ProviderBatch.status)
    )
    rows = await session.execute(query)
    return {str(status): Tally(int(n), int(r)) for status, n, r in rows}


async def selection(
    session: AsyncSession, where: ProblemFilter, now: datetime, ids: Sequence[int], limit: int
) -> list[Problem]:
    """What a bulk redrive acts on: the `ids` an operator ticked that still match, or (no
    ids) every match, oldest first, at most `limit` either way."""
    query = problems_query(where, now)
    if ids:
        query = query.where(ProviderBatch.id.in_(list(ids)[:limit]))
    rows = (await session.execute(query.order_by(ProviderBatch.id).limit(limit))).all()
    return [Problem(batch, campaign) for batch, campaign in rows]
