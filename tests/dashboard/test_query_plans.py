"""No page reads all the rows: PostgreSQL's own account (EXPLAIN ANALYZE) of the recipient
pages and the errors of a campaign that comes after another campaign's rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.sql import ClauseElement

from disparo.campaigns.models import MessageStatus
from disparo.campaigns.repository import messages_query
from disparo.config import to_async_url
from disparo.dashboard.queries import error_groups_query, sends_since_query
from disparo.migrations import upgrade

OLD = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BIG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
ROWS = 60_000  # per campaign; the big one's rows all come after the old one's

FILL = """
INSERT INTO campaigns (id, agendamento_id, provider, status, total_messages, sent_messages,
  failed_messages, skipped_messages, unknown_messages, created_at, updated_at)
VALUES (:id, :key, 'CDA', 'COMPLETED', :n, 0, 0, 0, 0, now(), now());
INSERT INTO campaign_messages (campaign_id, row_index, batch_seq, phone, status, attempts,
  last_error, skip_reason, created_at)
SELECT :id, r, r / 10000, '5511' || r,
  CASE WHEN r % 1000 = 7 THEN 'SKIPPED' WHEN r >= :n - 100 THEN 'FAILED' ELSE 'PENDING' END, 1,
  CASE WHEN r >= :n - 100 THEN 'HTTP 422' END, CASE WHEN r % 1000 = 7 THEN 'repetido' END, now()
FROM generate_series(0, :n - 1) r;
INSERT INTO provider_batches (campaign_id, step, sequence, status, message_count, sent_count,
  failed_count, attempts, uncounted_attempts, created_at, updated_at)
SELECT :id, 'send', s, 'SENT', 10000, 10000, 0, 1, 0, now(), now()
FROM generate_series(0, :n / 10000 - 1) s
"""


def _scans(node: dict[str, Any], table: str) -> Iterator[dict[str, Any]]:
    if node.get("Relation Name") == table:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child, table)


async def _rows_read(
    session: AsyncSession, query: ClauseElement, table: str = "campaign_messages"
) -> tuple[int, list[str]]:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    sql = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    plan = await session.scalar(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    scans = list(_scans(root, table))
    read = sum(s["Actual Rows"] + s.get("Rows Removed by Filter", 0) for s in scans)
    return read, [s["Node Type"] for s in scans]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_recipient_pages_and_errors_read_only_what_they_show(db_url: str) -> None:
    url = to_async_url(db_url)
    await upgrade(url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for campaign, key in ((OLD, "C1"), (BIG, "C2")):
                for statement in FILL.split(";\n"):
                    await conn.execute(text(statement), {"id": campaign, "key": key, "n": ROWS})
            await conn.execute(text("ANALYZE"))
        async with AsyncSession(engine) as session:
            first_big = ROWS + 1  # ids: the old campaign's rows first
            pages = {
                "all, first page": messages_query(BIG, None, 0, 50),
                "all, deep page": messages_query(BIG, None, first_big + 40_000, 50),
                "SENT, first page": messages_query(BIG, MessageStatus.SENT, 0, 50),
                "SKIPPED": messages_query(BIG, MessageStatus.SKIPPED, 0, 50),
                "FAILED (the last 100 rows)": messages_query(BIG, MessageStatus.FAILED, 0, 50),
                "UNKNOWN (none)": messages_query(BIG, MessageStatus.UNKNOWN, 0, 50),
            }
            for label, query in pages.items():
                read, nodes = await _rows_read(session, query)
                assert "Seq Scan" not in nodes, (label, nodes)
                assert read <= 500, f"{label}: read {read} rows of campaign_messages ({nodes})"
            # Errors by reason: the failed and skipped rows only (160), not the 60,000.
            read, nodes = await _rows_read(session, error_groups_query(BIG))
            assert "Seq Scan" not in nodes and read <= 200, (read, nodes)
    finally:
        await engine.dispose()


BATCHES = """
INSERT INTO campaigns (id, agendamento_id, provider, status, total_messages, sent_messages,
  failed_messages, skipped_messages, unknown_messages, created_at, updated_at)
VALUES (:id, :key, 'CDA', 'PROCESSING', 0, 0, 0, 0, 0, now(), now());
INSERT INTO provider_batches (campaign_id, step, sequence, status, message_count, sent_count,
  failed_count, attempts, uncounted_attempts, finished_at, created_at, updated_at)
SELECT :id, 'send', s, 'SENT', 200, 200, 0, 1, 0, now() - s * interval '3 seconds', now(), now()
FROM generate_series(0, :n - 1) s
"""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_last_minute_rate_reads_only_that_minute(db_url: str) -> None:
    """5,000 batches a campaign (a 1,000,000-recipient one), one every 3 s: the rate of the
    page's campaigns reads the 20 each finished in the last minute (index 0017)."""
    url = to_async_url(db_url)
    await upgrade(url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for campaign, key in ((OLD, "C1"), (BIG, "C2")):
                for statement in BATCHES.split(";\n"):
                    await conn.execute(text(statement), {"id": campaign, "key": key, "n": 5000})
            await conn.execute(text("ANALYZE"))
            since = await conn.scalar(text("SELECT now() - interval '60 seconds'"))
        async with AsyncSession(engine) as session:
            query = sends_since_query([OLD, BIG], since)
            read, nodes = await _rows_read(session, query, "provider_batches")
        assert "Seq Scan" not in nodes and read <= 50, (read, nodes)
    finally:
        await engine.dispose()
