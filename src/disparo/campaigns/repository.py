"""Read queries of the campaign API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import Campaign, CampaignMessage, CampaignStatus, MessageStatus

ERRORS_SHOWN = 100


async def find_campaign(session: AsyncSession, key: str) -> Campaign | None:
    """`key` is the campaign uuid or its agendamento_id."""
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


async def list_messages(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    status: MessageStatus | None,
    after: int,
    limit: int,
) -> Sequence[CampaignMessage]:
    """Keyset pagination: as fast on page 10,000 of a million-row campaign as on page 1."""
    query = select(CampaignMessage).where(
        CampaignMessage.campaign_id == campaign_id, CampaignMessage.id > after
    )
    if status is not None:
        query = query.where(CampaignMessage.status == status)
    return (await session.scalars(query.order_by(CampaignMessage.id).limit(limit))).all()
