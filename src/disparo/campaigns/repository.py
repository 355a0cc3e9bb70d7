"""Read queries of the campaign API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.db.base import UTCDateTime

ERRORS_SHOWN = 100


async def lock_campaign(session: AsyncSession, campaign_id: uuid.UUID) -> Campaign:
    """The campaign row, locked for the transaction: every state change of a campaign takes
    this lock first, so two workers finishing batches together see each other's work."""
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    )
    assert campaign is not None, campaign_id
    return campaign


async def find_campaign(session: AsyncSession, key: str) -> Campaign | None:
    """`key` is the campaign uuid or its agendamento_id."""
    if len(key) > 100 or "\x00" in key:
        return None  # cannot be either; PostgreSQL would refuse the NUL byte outright
    try:
        campaign_id = uuid.UUID(key)
    except ValueError:
        return await session.scalar(select(Campaign).where(Campaign.agendamento_id == key))
    return await session.get(Campaign, campaign_id)


async def failed_messages(
    session: AsyncSession, campaign_id: uuid.UUID
) -> Sequence[CampaignMessage]:
    return (
        await session.scalars(
            select(CampaignMessage)
            .where(
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.status == MessageStatus.FAILED,
            )
            .order_by(CampaignMessage.id)
            .limit(ERRORS_SHOWN)
        )
    ).all()


async def delivery_counts(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int]:
    """Recipients by the provider's latest delivery receipt (DELIVERED, READ...); those
    without one are not counted."""
    rows = await session.execute(
        select(CampaignMessage.delivery_status, func.count())
        .where(
            CampaignMessage.campaign_id == campaign_id,
            CampaignMessage.delivery_status.is_not(None),
        )
        .group_by(CampaignMessage.delivery_status)
    )
    return {str(status): int(count) for status, count in rows}


def _campaign_filter(
    query: Select[Any], status: CampaignStatus | None, provider: str | None
) -> Select[Any]:
    if status is not None:
        query = query.where(Campaign.status == status)
    if provider:
        query = query.where(Campaign.provider == provider.upper())
    return query


async def list_campaigns(
    session: AsyncSession,
    *,
    status: CampaignStatus | None,
    provider: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Campaign], int]:
    query = _campaign_filter(select(Campaign), status, provider)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Campaign.created_at.desc(), Campaign.id).limit(limit).offset(offset)
    )
    return rows.all(), total or 0


@dataclass(frozen=True, slots=True)
class MessageView:
    """A recipient as the API shows it: its own row, completed by its batch's outcome."""

    id: int
    row_index: int
    # The WordPress row's id (Gen C); null for Gen B rows: WordPress goes by row_index.
    row_id: int | None
    phone: str
    name: str | None
    status: MessageStatus
    batch: int | None
    attempts: int
    error: str | None
    skip_reason: str | None
    sent_at: datetime | None
    # RCS campaigns: "RCS" or "SMS" (the fallback); null for providers with one channel.
    channel: str | None = None
    # The provider's latest delivery receipt (campaigns/deliveries.py), when it sent one.
    delivery_status: str | None = None
    delivery_at: datetime | None = None
    delivery_reason: str | None = None
    # disparo's clock when that receipt was recorded: the cursor of `delivery_since`.
    delivery_recorded_at: datetime | None = None


# A message of an accepted batch keeps PENDING in its own row: one UPDATE of 100,000 rows
# would cost as much as their COPY (DESIGN.md). Its status is the batch's outcome.
_ACCEPTED = and_(
    CampaignMessage.status == MessageStatus.PENDING, ProviderBatch.status == BatchStatus.SENT
)
EFFECTIVE_STATUS = case((_ACCEPTED, MessageStatus.SENT.value), else_=CampaignMessage.status)


def has_effective_status(status: MessageStatus) -> ColumnElement[bool]:
    """EFFECTIVE_STATUS == status, written so that the row's own status narrows the search
    first (index ix_campaign_messages_status): a filter for the 20 failed recipients of a
    million-row campaign reads those 20 rows, not the million."""
    if status == MessageStatus.SENT:
        return or_(CampaignMessage.status == MessageStatus.SENT, _ACCEPTED)
    if status == MessageStatus.PENDING:
        return and_(
            CampaignMessage.status == MessageStatus.PENDING,
            or_(ProviderBatch.status.is_(None), ProviderBatch.status != BatchStatus.SENT),
        )
    return CampaignMessage.status == status


_SENT_AT = case((_ACCEPTED, ProviderBatch.finished_at), else_=CampaignMessage.sent_at)
_ATTEMPTS = func.coalesce(ProviderBatch.attempts, CampaignMessage.attempts)
# A message's own channel only where it differs from its batch's (see fallback.py).
_CHANNEL = func.coalesce(CampaignMessage.channel, ProviderBatch.channel)


def _of_campaign(campaign_id: uuid.UUID, status: MessageStatus | None) -> ColumnElement[bool]:
    """The campaign's rows, phrased so that PostgreSQL pages through an index (0005).

    A status kept on the row (FAILED, SKIPPED...) is an equality: ix_campaign_messages_status
    holds exactly those rows in id order. Otherwise (all, SENT, PENDING) BETWEEN instead of
    `=`: with `=` the planner may walk the primary key from the table's first row, through
    every older campaign's recipients, to fill a page of a big one; with a range only
    ix_campaign_messages_page gives the ORDER BY (campaign_id, id)."""
    if status is not None and status not in (MessageStatus.SENT, MessageStatus.PENDING):
        return CampaignMessage.campaign_id == campaign_id
    return CampaignMessage.campaign_id.between(campaign_id, campaign_id)


def messages_query(
    campaign_id: uuid.UUID,
    status: MessageStatus | None,
    after: int,
    limit: int | None,
    delivery_since: datetime | None = None,
) -> Select[Any]:
    query = select(CampaignMessage, EFFECTIVE_STATUS, _SENT_AT, _ATTEMPTS, _CHANNEL).outerjoin(
        ProviderBatch,
        and_(
            ProviderBatch.campaign_id == CampaignMessage.campaign_id,
            ProviderBatch.step == BatchStep.SEND,
            ProviderBatch.sequence == CampaignMessage.batch_seq,
        ),
    )
    if delivery_since is None:
        query = query.where(_of_campaign(campaign_id, status), CampaignMessage.id > after)
        query = query.order_by(CampaignMessage.campaign_id, CampaignMessage.id)
    else:
        query = _receipts_since(query, campaign_id, delivery_since, after)
    if status is not None:
        query = query.where(has_effective_status(status))
    return query if limit is None else query.limit(limit)


def _receipts_since(
    query: Select[Any], campaign_id: uuid.UUID, since: datetime, after: int
) -> Select[Any]:
    """Rows whose receipt disparo recorded after (since, after), in that order: a keyset over
    ix_campaign_messages_delivery_changes, so a pass for the receipts of the last hour reads
    those rows only, however big the campaign. Rows without a receipt are not in it."""
    recorded = CampaignMessage.delivery_recorded_at
    return query.where(
        CampaignMessage.campaign_id == campaign_id,
        recorded.is_not(None),
        tuple_(recorded, CampaignMessage.id)
        > tuple_(literal(since, UTCDateTime), literal(after, BigInteger)),
    ).order_by(CampaignMessage.campaign_id, recorded, CampaignMessage.id)


async def list_messages(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    status: MessageStatus | None,
    after: int,
    limit: int | None,
    delivery_since: datetime | None = None,
) -> list[MessageView]:
    """Keyset pagination: as fast on page 10,000 of a million-row campaign as on page 1."""
    query = messages_query(campaign_id, status, after, limit, delivery_since)
    rows = await session.execute(query)
    return [
        MessageView(
            id=m.id,
            row_index=m.row_index,
            row_id=m.row_id,
            phone=m.phone,
            name=m.name,
            status=MessageStatus(effective),
            batch=m.batch_seq,
            attempts=int(attempts or 0),
            error=m.last_error,
            skip_reason=m.skip_reason,
            sent_at=_utc(sent_at),
            channel=channel,
            delivery_status=m.delivery_status,
            delivery_at=m.delivery_at,
            delivery_reason=m.delivery_reason,
            delivery_recorded_at=m.delivery_recorded_at,
        )
        for m, effective, sent_at, attempts, channel in rows
    ]


def _utc(value: datetime | None) -> datetime | None:
    """CASE loses the column type, so SQLite hands back naive (UTC) values or strings."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
