"""How fast our WordPress plugin pulls each row's outcome from a real disparo, and that no
WP-Cron run outlives its time budget: a campaign of N messages (default 1,000,000; a mix of
sent, skipped and failed) in a scratch PostgreSQL, the real API in this
process, a real WordPress (tests/e2e/wordpress_site.py) whose wp-cron.php is requested in a
loop like a system cron would. Prints rows/s, the longest run, PHP's peak memory, then the
same for a deliveries pass after a tenth of the rows got a receipt; appends a line to
bench/results.jsonl.

    .venv/bin/python bench/row_sync.py [--rows 1000000] [--budget 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr

from disparo.app import create_app
from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.migrations import upgrade
from disparo.runtime import open_runtime
from tests.e2e.wordpress_site import WordPressSite, start_wordpress

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
KEY = "bench-key"
AGENDAMENTO = "C99999999999999"
RESULTS = Path(__file__).with_name("results.jsonl")

# Every 50th row skipped, every 97th failed, the rest sent (its batch SENT).
FILL = """
INSERT INTO campaigns (id, agendamento_id, provider, status, total_messages, sent_messages,
  failed_messages, skipped_messages, unknown_messages, created_at, updated_at, started_at)
VALUES ($1, 'C99999999999999', 'CDA', 'COMPLETED', $2, 0, 0, 0, 0, now(), now(), now());
INSERT INTO campaign_messages (campaign_id, row_index, row_id, batch_seq, phone, name, status,
  attempts, last_error, skip_reason, created_at)
SELECT $1, r, r + 1, CASE WHEN r % 50 = 7 THEN NULL ELSE 0 END, '55119' || lpad(r::text, 8, '0'),
  'Cliente ' || r,
  CASE WHEN r % 50 = 7 THEN 'SKIPPED' WHEN r % 97 = 3 THEN 'FAILED' ELSE 'PENDING' END, 1,
  CASE WHEN r % 97 = 3 AND r % 50 <> 7 THEN 'HTTP 422: número recusado' END,
  CASE WHEN r % 50 = 7 THEN 'telefone inválido: 12' END, now()
FROM generate_series(0, $2 - 1) r;
INSERT INTO provider_batches (campaign_id, step, sequence, status, message_count, sent_count,
  failed_count, attempts, uncounted_attempts, created_at, updated_at, finished_at)
VALUES ($1, 'send', 0, 'SENT', $2, 0, 0, 1, 0, now(), now(), now());
"""
# After the rows pass: a tenth of the rows get a receipt (as the callback writer records it).
RECEIPTS = """
UPDATE campaign_messages SET delivery_status = 'READ', delivery_at = now(),
  delivery_recorded_at = now() WHERE row_index % 10 = 1
"""


async def receipts(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(RECEIPTS)
    finally:
        await conn.close()


async def deliveries_pass(site: WordPressSite) -> dict[str, Any]:
    """The pass WP-Cron would run an hour later, run now until it is over (its cursor back at
    the start): the figures of its runs."""
    rows, seconds, peak, runs = 0, 0.0, 0, 0
    while True:
        state = json.loads(await site.wp_async("sync", AGENDAMENTO))
        last = state["last_run"]
        rows, seconds, runs = rows + int(last["rows"]), seconds + float(last["seconds"]), runs + 1
        peak = max(peak, int(last["peak_memory"]))
        if int(state["cursor"]["after"]) == 0:
            break
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds) if seconds else 0,
        "runs": runs,
        "peak_php_memory_mb": round(peak / 2**20, 1),
    }


async def fill(url: str, rows: int) -> float:
    started = time.monotonic()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        campaign = uuid.uuid4()
        for statement in FILL.strip().split(";\n"):
            await conn.execute(statement, campaign, *([rows] if "$2" in statement else []))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.monotonic() - started


def configure(site: WordPressSite, api_url: str, budget: float) -> None:
    site.wp(
        "options",
        {"acm_master_api_key": KEY, "acm_microservice_config": {"url": api_url, "api_key": KEY}},
    )
    # The budget, as a site would set it (a must-use plugin filtering it).
    plugin = site.path / "wp-content" / "mu-plugins" / "bench-budget.php"
    plugin.write_text(
        f"<?php\nadd_filter('disparo_connector_sync_budget', static fn (): float => {budget});\n"
    )


async def pull(site: WordPressSite, phase: str) -> dict[str, Any]:
    """Request wp-cron.php until the pass of `phase` is over; each run's own figures."""
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    while True:
        async with httpx.AsyncClient(base_url=site.url, timeout=600) as client:
            answer = await client.get("/wp-cron.php")
        assert answer.status_code == 200, answer.text[:300]
        state = json.loads(await site.wp_async("outcomes", AGENDAMENTO))["sync"]
        last = state.get("last_run") or {}
        if last and (not runs or last != runs[-1]):
            runs.append(last)
        if state["last_error"]:
            raise AssertionError(state["last_error"])
        if state["phase"] != phase:
            break
    seconds = time.monotonic() - started
    rows = sum(int(run["rows"]) for run in runs)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds) if seconds else 0,
        "runs": len(runs),
        "longest_run_s": max((float(r["seconds"]) for r in runs), default=0),
        "peak_php_memory_mb": round(max(int(r["peak_memory"]) for r in runs) / 2**20, 1),
    }


async def main(rows: int, budget: float) -> None:
    async with scratch_database(PG_ADMIN, "disparo_bench") as url:
        settings = Settings(
            database_url=url,
            redis_url=REDIS,
            queue_prefix=f"bench{uuid.uuid4().hex[:8]}",
            api_keys=[SecretStr(KEY)],
            env="development",
            log_level="WARNING",
        )
        await upgrade(settings.sqlalchemy_url)
        fill_s = await fill(settings.sqlalchemy_url, rows)
        print(f"filled {rows:,} messages in {fill_s:.1f} s")
        runtime = await open_runtime(settings)
        server = await start_server(create_app(runtime=runtime))
        site = await asyncio.to_thread(start_wordpress, Path(tempfile.mkdtemp()) / "wordpress")
        try:
            configure(site, server.url, budget)
            await site.wp_async("schedule", AGENDAMENTO)
            rows_pass = await pull(site, "rows")
            print("rows pass:", rows_pass)
            await receipts(settings.sqlalchemy_url)
            later = await deliveries_pass(site)
            print("deliveries pass:", later)
        finally:
            await asyncio.to_thread(site.stop)
            await server.stop()
            await runtime.close()
    record = {
        "bench": "row_sync",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "budget_s": budget,
        "rows_pass": rows_pass,
        "deliveries_pass": later,
    }
    print(json.dumps(record))
    with RESULTS.open("a") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=20.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.budget))
