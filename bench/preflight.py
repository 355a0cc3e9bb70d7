"""Benchmark: POST /campaigns/preflight of one campaign, timed from request to report.

Runs the dev stack in this process (SQLite, no worker; the preflight reads no database) with
the WordPress simulator holding the campaign's rows (Gen C rows, ~500 bytes of JSON each,
1% of them with an invalid phone), then times one preflight over HTTP and prints seconds,
rows/s and this process's peak RSS; appends them to bench/results.jsonl. Goal: 100,000 rows
in under 3 s.

    .venv/bin/python bench/preflight.py [--rows 100000] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from disparo.config import Settings
from disparo.devstack import start_dev_stack
from disparo.sim.samples import make_rows

HERE = Path(__file__).parent
API_KEY = "bench-key"
CAMPAIGN = "C20250115093000"


async def run(rows: int, redis_url: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings.model_construct(
            **(
                Settings().model_dump()
                | {
                    "database_url": f"sqlite+aiosqlite:///{scratch}/bench.db",
                    "data_dir": Path(scratch),
                    "redis_url": redis_url,
                    "queue_prefix": f"bench{uuid.uuid4().hex[:8]}",
                    "api_keys": [SecretStr(API_KEY)],
                    "wordpress_api_key": SecretStr("bench-wp-key"),
                    "log_level": "WARNING",
                }
            )
        )
        stack = await start_dev_stack(settings, with_worker=False)
        try:
            return await _time(stack.api.url, stack.wordpress, rows)
        finally:
            await stack.stop()


async def _time(api_url: str, wordpress: object, rows: int) -> dict[str, object]:
    seeded = make_rows(CAMPAIGN, rows)
    for row in seeded[::100]:
        row["telefone"] = "invalido"
    wordpress.add_campaign(CAMPAIGN, seeded)  # type: ignore[attr-defined]
    del seeded
    headers = {"X-API-KEY": API_KEY}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        answer = await client.post("/campaigns/preflight", json={"agendamento_id": CAMPAIGN})
        seconds = time.perf_counter() - started
    assert answer.status_code == 200, answer.text[:300]
    report = answer.json()
    assert report["rows"] == rows and report["skipped"] == len(range(0, rows, 100)), report
    return {
        "bench": "preflight",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "server_seconds": report["seconds"],
        "batches": report["batches"],
        # The simulator holds the rows' JSON in this process too: an upper bound.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    result = asyncio.run(run(args.rows, args.redis_url))
    print(json.dumps(result))
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
