"""How fast the dashboard, the messages API and /metrics answer with 10,000 campaigns and a
campaign of 1,000,000 recipients, on PostgreSQL. Prints the median of several requests per
page (signed in, as a browser) and the plan of the recipients page; no test asserts these.

    .venv/bin/python bench/bench_dashboard.py [--campaigns 10000] [--recipients 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy.dialects import postgresql

from disparo.app import create_app
from disparo.campaigns.models import MessageStatus
from disparo.campaigns.repository import messages_query
from disparo.config import Settings
from disparo.dashboard.queries import error_groups_query
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.migrations import upgrade
from disparo.runtime import open_runtime

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
KEY = "bench-key"
BIG = "00000000-0000-4000-8000-000000000001"
RESULTS = Path(__file__).with_name("results.jsonl")
RUNS = 7

FILL = """
INSERT INTO campaigns (id, agendamento_id, provider, status, total_messages, sent_messages,
  failed_messages, skipped_messages, unknown_messages, created_at, updated_at, started_at,
  completed_at)
SELECT gen_random_uuid(), 'C' || lpad(g::text, 14, '0'),
  (ARRAY['CDA','GOSAC','NOAH','RCS','SALESFORCE'])[1 + g % 5],
  (ARRAY['COMPLETED','COMPLETED','COMPLETED','FAILED','PROCESSING','QUEUED'])[1 + g % 6],
  10, 9, 1, 0, 0, now() - (g || ' minutes')::interval, now(),
  now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval + interval '5 s'
FROM generate_series(1, $1) g;
INSERT INTO campaign_messages (campaign_id, row_index, batch_seq, phone, name, status,
  attempts, last_error, created_at)
SELECT c.id, r, 0, '55119' || lpad(r::text, 8, '0'), 'Cliente ' || r,
  CASE WHEN r = 9 THEN 'FAILED' ELSE 'PENDING' END, 1,
  CASE WHEN r = 9 THEN 'HTTP 422: telefone inválido' END, now()
FROM campaigns c, generate_series(0, 9) r;
INSERT INTO provider_batches (campaign_id, step, sequence, status, message_count, sent_count,
  failed_count, attempts, uncounted_attempts, created_at, updated_at, finished_at)
SELECT id, 'send', 0, 'SENT', 10, 9, 1, 1, 0, now(), now(), now() FROM campaigns;
"""

BIG_CAMPAIGN = """
INSERT INTO campaigns (id, agendamento_id, provider, status, total_messages, sent_messages,
  failed_messages, skipped_messages, unknown_messages, created_at, updated_at, started_at)
VALUES ($1, 'C99999999999999', 'CDA', 'PROCESSING', $2, $2 - 120000, 100000, 20000, 0,
  now() - interval '10 minutes', now(), now() - interval '10 minutes');
INSERT INTO campaign_messages (campaign_id, row_index, batch_seq, phone, name, status,
  attempts, last_error, skip_reason, created_at)
SELECT $1, r, CASE WHEN r % 50 = 7 THEN NULL ELSE r / 100000 END, '55119' || lpad(r::text, 8, '0'),
  'Cliente ' || r,
  CASE WHEN r % 50 = 7 THEN 'SKIPPED' WHEN r / 100000 = 9 THEN 'FAILED' ELSE 'PENDING' END,
  1, CASE WHEN r / 100000 = 9 THEN 'HTTP 422: lote recusado' END,
  CASE WHEN r % 50 = 7 THEN 'telefone repetido na campanha' END, now()
FROM generate_series(0, $2 - 1) r;
INSERT INTO provider_batches (campaign_id, step, sequence, status, message_count, sent_count,
  failed_count, attempts, uncounted_attempts, created_at, updated_at)
SELECT $1, 'send', s, CASE WHEN s = 9 THEN 'FAILED' ELSE 'SENT' END, $2 / 10, 0, 0, 1, 0,
  now(), now() FROM generate_series(0, 9) s;
"""


async def _fill(url: str, campaigns: int, recipients: int) -> float:
    started = time.monotonic()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for statement in FILL.strip().split(";\n"):
            await conn.execute(statement, *([campaigns] if "$1" in statement else []))
        for statement in BIG_CAMPAIGN.strip().split(";\n"):
            args: list[Any] = [uuid.UUID(BIG), recipients]
            await conn.execute(statement, *args[: 2 if "$2" in statement else 1])
        await conn.execute("ANALYZE")
        for label, query in _queries():
            literal = {"literal_binds": True}
            sql = query.compile(dialect=postgresql.dialect(), compile_kwargs=literal)
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print(f"--- {label}")
            print("\n".join(row[0] for row in plan))
    finally:
        await conn.close()
    return time.monotonic() - started


def _queries() -> list[tuple[str, Any]]:
    big = uuid.UUID(BIG)
    return [
        ("recipients, first page", messages_query(big, None, 0, 50)),
        ("recipients, SKIPPED", messages_query(big, MessageStatus.SKIPPED, 0, 50)),
        ("recipients, SENT", messages_query(big, MessageStatus.SENT, 0, 50)),
        ("errors by reason", error_groups_query(big)),
    ]


async def _time(client: httpx.AsyncClient, url: str, **headers: str) -> float:
    times = []
    for _ in range(RUNS):
        started = time.monotonic()
        answer = await client.get(url, headers=headers)
        times.append(time.monotonic() - started)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return statistics.median(times) * 1000


async def main(campaigns: int, recipients: int) -> None:
    async with scratch_database(PG_ADMIN, "disparo_bench") as url:
        settings = Settings.model_construct(
            **(
                Settings().model_dump()
                | {
                    "database_url": url,
                    "redis_url": REDIS,
                    "queue_prefix": f"bench{uuid.uuid4().hex[:8]}",
                    "api_keys": [SecretStr(KEY)],
                    "log_level": "WARNING",
                }
            )
        )
        await upgrade(settings.sqlalchemy_url)
        fill_s = await _fill(settings.sqlalchemy_url, campaigns, recipients)
        runtime = await open_runtime(settings)
        server = await start_server(create_app(runtime=runtime))
        pages = {
            "campaign list, first page": "/dashboard",
            "campaign list, FAILED + CDA": "/dashboard?status=FAILED&provider=CDA",
            "campaign list JSON (live poll)": "/dashboard/api/campaigns",
            "campaign list, page 100": None,
            "1M campaign page": f"/dashboard/campaigns/{BIG}",
            "1M campaign, SKIPPED recipients": f"/dashboard/campaigns/{BIG}?recipients=SKIPPED",
            "1M campaign, FAILED, after 950,000": None,
            "1M campaign, SENT, after 500,000": None,
            "1M campaign JSON (live poll)": f"/dashboard/api/campaigns/{BIG}",
            "messages API, FAILED, 1M campaign": f"/campaigns/{BIG}/messages?status=FAILED",
            "queues": "/dashboard/queues",
            "/metrics": "/metrics",
        }
        figures: dict[str, float] = {}
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
                await sign_in(client, KEY)
                first_id = await _first_id(url)
                pages["1M campaign, FAILED, after 950,000"] = (
                    f"/dashboard/campaigns/{BIG}?recipients=FAILED&after={first_id + 950_000}"
                )
                pages["1M campaign, SENT, after 500,000"] = (
                    f"/dashboard/campaigns/{BIG}?recipients=SENT&after={first_id + 500_000}"
                )
                pages["campaign list, page 100"] = await _page_100(client)
                for label, path in pages.items():
                    assert path is not None
                    headers = {"X-API-KEY": KEY} if not path.startswith("/dashboard") else {}
                    figures[label] = await _time(client, path, **headers)
                    print(f"{label:40s} {figures[label]:8.1f} ms")
        finally:
            await server.stop()
            await runtime.close()
    record = {
        "bench": "dashboard",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "campaigns": campaigns,
        "recipients": recipients,
        "fill_s": round(fill_s, 1),
        "median_ms": {k: round(v, 1) for k, v in figures.items()},
    }
    with RESULTS.open("a") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


async def sign_in(client: httpx.AsyncClient, key: str) -> None:
    form = await client.get("/dashboard/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, "no sign-in form"
    data = {"api_key": key, "csrf_token": found.group(1)}
    answer = await client.post("/dashboard/login", data=data)
    assert answer.status_code == 303, answer.text


async def _first_id(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(
            await conn.fetchval(
                "SELECT min(id) FROM campaign_messages WHERE campaign_id = $1", uuid.UUID(BIG)
            )
        )
    finally:
        await conn.close()


async def _page_100(client: httpx.AsyncClient) -> str:
    """Follow the 'older' links, as an operator would, to the 100th page (or the last)."""
    cursor = None
    for _ in range(99):
        params = {"before": cursor} if cursor else {}
        page = (await client.get("/dashboard/api/campaigns", params=params)).json()
        if page["next"] is None:
            break
        cursor = page["next"]
    return "/dashboard?" + str(httpx.QueryParams({"before": cursor} if cursor else {}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    options = parser.parse_args()
    asyncio.run(main(options.campaigns, options.recipients))
