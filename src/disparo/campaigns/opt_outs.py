"""The suppression list applied to campaigns: at ingest and in the preflight (a chunk check
of row_plan.decide_rows: one lookup query per chunk of rows while they stream) and at claim
(a phone suppressed while the campaign runs is skipped in every batch not yet claimed). All
skip with reason `opt-out`."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import pending_messages, record_attempt, row_count
from disparo.db.base import utcnow
from disparo.db.engine import SessionFactory
from disparo.suppressions.lookup import (
    OPT_OUT,
    any_suppressed,
    is_suppressed,
    suppressed_among,
)

SuppressedAmong = Callable[[Collection[str]], Awaitable[set[str]]]
ALL_OPTED_OUT = "todos os destinatários do lote pediram para não receber mensagens (opt-out)"


@asynccontextmanager
async def suppression_lookup(
    sessions: SessionFactory, session: AsyncSession
) -> AsyncIterator[SuppressedAmong | None]:
    """The lookup ingest uses while `session` writes the rows; None when the list is empty.
    PostgreSQL: its own connection (the writing one is busy with COPY). SQLite: the writing
    session itself (another connection would wait for its write lock)."""
    if not await any_suppressed(session):
        yield None
    elif session.get_bind().dialect.name == "sqlite":
        yield functools.partial(suppressed_among, session)
    else:
        async with sessions() as reader:
            yield functools.partial(suppressed_among, reader)


async def reader_lookup(sessions: SessionFactory) -> SuppressedAmong | None:
    """The lookup of a reader that writes nothing (the preflight), None when the list is
    empty: a short session per chunk, as a session held for the whole stream would hold
    SQLite's write lock (its transactions begin IMMEDIATE) against every writer."""
    async with sessions() as session:
        if not await any_suppressed(session):
            return None

    async def lookup(phones: Collection[str]) -> set[str]:
        async with sessions() as chunk_session:
            return await suppressed_among(chunk_session, phones)

    return lookup


async def skip_opted_out(session: AsyncSession, campaign: Campaign, sequence: int) -> int:
    """At claim, under the campaign row lock: the batch's still-PENDING recipients whose
    phone was suppressed since ingest become SKIPPED `opt-out`; the batch's count and the
    campaign's counters follow. Returns how many."""
    changed = await session.execute(
        pending_messages(campaign.id, sequence)
        .where(is_suppressed(CampaignMessage.phone))
        .values(status=MessageStatus.SKIPPED, skip_reason=OPT_OUT)
    )
    skipped = row_count(changed)
    if skipped:
        await session.execute(
            update(ProviderBatch)
            .where(ProviderBatch.campaign_id == campaign.id, ProviderBatch.sequence == sequence)
            .where(ProviderBatch.step == BatchStep.SEND)
            .values(message_count=ProviderBatch.message_count - skipped)
        )
        campaign.skipped_messages += skipped
    return skipped


def end_all_opted_out(session: AsyncSession, batch: ProviderBatch) -> None:
    """Claimed, but every recipient left asked not to be contacted: nothing to send. The
    batch ends CANCELLED (no request was made) with the reason in its history."""
    batch.status, batch.finished_at = BatchStatus.CANCELLED, utcnow()
    batch.due_at, batch.last_error = None, ALL_OPTED_OUT
    record_attempt(session, batch, "opt-out", ALL_OPTED_OUT)
