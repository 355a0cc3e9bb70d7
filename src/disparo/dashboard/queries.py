"""The dashboard's reads. Every list is a keyset page of a bounded size and every count an
aggregate, so 10,000 campaigns or a 1,000,000-recipient campaign cost the same as ten."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, Uuid, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.wordpress.outbox_model import WebhookOutbox

PAGE = 50
RATE_WINDOW = timedelta(seconds=60)
ERROR_GROUPS = 20
FAILURE_STATUSES = (MessageStatus.FAILED, MessageStatus.UNKNOWN, MessageStatus.SKIPPED)


@dataclass(frozen=True, slots=True)
class CampaignCursor:
    """Where the next page of campaigns starts (newest first)."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        return f"{self.created_at.isoformat()}~{self.id}"

    @classmethod
    def decode(cls, raw: str) -> CampaignCursor:
        """ValueError when the link was tampered with or cut."""
        created, _, key = raw.partition("~")
        return cls(datetime.fromisoformat(created), uuid.UUID(key))


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    status: CampaignStatus | None = None
    provider: str | None = None


async def campaign_page(
    session: AsyncSession, where: CampaignFilter, before: CampaignCursor | None
) -> tuple[Sequence[Campaign], CampaignCursor | None]:
    query = select(Campaign)
    if where.status is not None:
        query = query.where(Campaign.status == where.status)
    if where.provider:
        query = query.where(Campaign.provider == where.provider)
    if before is not None:
        query = query.where(
            tuple_(Campaign.created_at, Campaign.id) < tuple_(before.created_at, before.id)
        )
    rows = (
        await session.scalars(
            query.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(PAGE + 1)
        )
    ).all()
    if len(rows) <= PAGE:
        return rows, None
    last = rows[PAGE - 1]
    return rows[:PAGE], CampaignCursor(last.created_at, last.id)


async def status_counts(session: AsyncSession, provider: str | None) -> dict[str, int]:
    query = select(Campaign.status, func.count()).group_by(Campaign.status)
    if provider:
        query = query.where(Campaign.provider == provider)
    return {str(status): int(count) for status, count in await session.execute(query)}


async def providers(session: AsyncSession) -> list[str]:
    found = await session.scalars(select(Campaign.provider).distinct().order_by(Campaign.provider))
    return list(found)


async def send_batches(
    session: AsyncSession, campaign_id: uuid.UUID, after: int
) -> tuple[Sequence[ProviderBatch], int | None]:
    """The provider requests of the campaign, in order, a page at a time (after=-1: from
    the first, sequence 0)."""
    rows = (
        await session.scalars(
            select(ProviderBatch)
            .where(
                ProviderBatch.campaign_id == campaign_id,
                ProviderBatch.step == BatchStep.SEND,
                ProviderBatch.sequence > after,
            )
            .order_by(ProviderBatch.sequence)
            .limit(PAGE + 1)
        )
    ).all()
    if len(rows) <= PAGE:
        return rows, None
    return rows[:PAGE], rows[PAGE - 1].sequence


async def batch_status_counts(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int]:
    found = await session.execute(
        select(ProviderBatch.status, func.count())
        .where(ProviderBatch.campaign_id == campaign_id, ProviderBatch.step == BatchStep.SEND)
        .group_by(ProviderBatch.status)
    )
    return {str(status): int(count) for status, count in found}


async def second_steps(session: AsyncSession, campaign_id: uuid.UUID) -> Sequence[ProviderBatch]:
    """Delayed follow-ups (GOSAC start, Marketing Cloud), the soonest due first."""
    return (
        await session.scalars(
            select(ProviderBatch)
            .where(ProviderBatch.campaign_id == campaign_id, ProviderBatch.step != BatchStep.SEND)
            .order_by(ProviderBatch.due_at, ProviderBatch.sequence)
            .limit(PAGE)
        )
    ).all()


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    status: str
    reason: str
    count: int


def error_groups_query(campaign_id: uuid.UUID) -> Select[MessageStatus, str, int]:
    reason = func.coalesce(CampaignMessage.last_error, CampaignMessage.skip_reason, "")
    count = func.count()
    return (
        select(CampaignMessage.status, reason, count)
        .where(
            # Written into the SQL, not bound: a prepared statement's generic plan (after five
            # runs) ignores how big this campaign is and reads its failures 3-4x slower.
            CampaignMessage.campaign_id == literal(campaign_id, Uuid(), literal_execute=True),
            CampaignMessage.status.in_(FAILURE_STATUSES),
        )
        .group_by(CampaignMessage.status, reason)
        .order_by(count.desc())
        .limit(ERROR_GROUPS)
    )


async def error_groups(session: AsyncSession, campaign_id: uuid.UUID) -> list[ErrorGroup]:
    """Failed, unknown and skipped recipients grouped by reason, the largest groups first.
    Reads only those rows (index ix_campaign_messages_status), never the sent ones."""
    found = await session.execute(error_groups_query(campaign_id))
    return [ErrorGroup(str(status), str(text), int(n)) for status, text, n in found]


async def webhooks(session: AsyncSession, campaign_id: uuid.UUID) -> Sequence[WebhookOutbox]:
    return (
        await session.scalars(
            select(WebhookOutbox)
            .where(WebhookOutbox.campaign_id == campaign_id)
            .order_by(WebhookOutbox.id)
            .limit(PAGE)
        )
    ).all()


def sends_since_query(campaign_ids: Sequence[uuid.UUID], since: datetime) -> Select[uuid.UUID, int]:
    return (
        select(ProviderBatch.campaign_id, func.coalesce(func.sum(ProviderBatch.sent_count), 0))
        .where(
            ProviderBatch.campaign_id.in_(list(campaign_ids)),
            ProviderBatch.finished_at >= since,  # ix_provider_batches_finished (0017)
            ProviderBatch.step == BatchStep.SEND,
        )
        .group_by(ProviderBatch.campaign_id)
    )


async def sent_last_minute(
    session: AsyncSession, campaign_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """Recipients each campaign's provider took in the 60 s before `now`, from the batches
    that finished then (a recipient of an accepted batch has no sent_at of its own:
    repository._ACCEPTED). Campaigns with none are missing: 0."""
    if not campaign_ids:
        return {}
    found = await session.execute(sends_since_query(campaign_ids, now - RATE_WINDOW))
    return {campaign_id: int(sent) for campaign_id, sent in found}
