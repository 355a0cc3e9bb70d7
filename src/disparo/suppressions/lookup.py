"""Is this phone suppressed? One small function per question, shared by ingest, claim and
the preflight, so that all of them skip exactly the same people for the same reason."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from disparo.suppressions.models import Suppression

# The skip reason of a suppressed recipient, at ingest and at claim (the preflight reports it).
OPT_OUT = "opt-out"


async def suppressed_among(session: AsyncSession, phones: Collection[str]) -> set[str]:
    """Which of these normalised phones are on the suppression list (one query; callers give
    one chunk of streaming rows at a time, row_plan.CHUNK_ROWS)."""
    if not phones:
        return set()
    rows = await session.scalars(select(Suppression.phone).where(Suppression.phone.in_(phones)))
    return set(rows)


async def any_suppressed(session: AsyncSession) -> bool:
    """False when the list is empty: ingest then skips the per-chunk lookups altogether."""
    return bool(await session.scalar(select(exists().where(Suppression.id.is_not(None)))))


def is_suppressed(phone: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """WHERE `phone` (a normalised phone column) is on the list: for set-based UPDATEs."""
    return phone.in_(select(Suppression.phone))
