"""The whole list as CSV, streamed page by page (each page its own short read), so an export
of millions holds one page in memory and no transaction open for minutes."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select

from disparo.db.engine import SessionFactory
from disparo.suppressions.models import Suppression

EXPORT_COLUMNS = ("phone", "cpf_cnpj", "reason", "source", "created_at", "actor")
EXPORT_PAGE = 10_000


async def export_csv(sessions: SessionFactory) -> AsyncIterator[str]:
    """The header, then one CSV chunk per page, oldest first (it re-imports as it is)."""
    yield _csv_text([EXPORT_COLUMNS])
    after = 0
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Suppression.id, *(getattr(Suppression, c) for c in EXPORT_COLUMNS))
                    .where(Suppression.id > after)
                    .order_by(Suppression.id)
                    .limit(EXPORT_PAGE)
                )
            ).all()
        if not rows:
            return
        after = rows[-1][0]
        yield _csv_text(
            [
                (phone, cpf or "", reason or "", source, created.isoformat(), actor)
                for _, phone, cpf, reason, source, created, actor in rows
            ]
        )


def _csv_text(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
