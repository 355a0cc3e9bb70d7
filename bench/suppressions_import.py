"""Benchmark: POST /suppressions/import of a 1,000,000-line CSV on PostgreSQL (goal: < 30 s).

The API runs in this process on loopback; the CSV is generated and streamed as the request
body (never held whole), the way `curl --data-binary @file` sends it. Prints the seconds from
the first byte sent to the answer, lines/s, the API process's peak RSS, and the report, and
appends them to bench/results.jsonl.

    .venv/bin/python bench/suppressions_import.py [--lines 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from disparo.app import create_app
from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.migrations import upgrade
from disparo.runtime import open_runtime

HERE = Path(__file__).parent
API_KEY = "bench-key"
LINES_PER_CHUNK = 20_000


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def csv_body(lines: int) -> AsyncIterator[bytes]:
    """phone,cpf_cnpj,reason lines: distinct mobiles across DDDs, one in 50 repeated."""
    yield b"telefone,cpf_cnpj,motivo\n"
    for start in range(0, lines, LINES_PER_CHUNK):
        chunk = []
        for n in range(start, min(start + LINES_PER_CHUNK, lines)):
            number = n - 1 if n % 50 == 49 else n  # a repeat of the previous line
            chunk.append(f"55{11 + number % 80}9{number:08d},{number:011d},pediu\n")
        yield "".join(chunk).encode()


async def run(lines: int, admin_url: str, redis_url: str) -> dict[str, object]:
    async with scratch_database(admin_url, "disparo_bench") as database_url:
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            queue_prefix=f"bench{uuid.uuid4().hex[:6]}",
            api_keys=[SecretStr(API_KEY)],
            env="development",
            log_level="WARNING",
        )
        await upgrade(settings.sqlalchemy_url)
        runtime = await open_runtime(settings)
        api = await start_server(create_app(runtime=runtime))
        try:
            headers = {"X-API-KEY": API_KEY, "content-type": "text/csv"}
            async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=300) as client:
                started = time.perf_counter()
                answer = await client.post("/suppressions/import", content=csv_body(lines))
                seconds = time.perf_counter() - started
                answer.raise_for_status()
                listed = (await client.get("/suppressions", params={"limit": 1})).json()
        finally:
            await api.stop()
            await runtime.close()
    report = answer.json()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": "suppressions_import",
        "database": "postgresql",
        "lines": lines,
        "seconds": round(seconds, 2),
        "lines_per_s": round(lines / seconds),
        "process_peak_rss_mb": round(peak_rss_mb(), 1),
        "added": report["added"],
        "already_listed": report["already_listed"],
        "invalid": report["invalid"],
        "listed_total": listed["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the benchmark creates and drops its own database",
    )  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    result = asyncio.run(run(args.lines, args.database_url, args.redis_url))
    for key, value in result.items():
        print(f"{key:24} {value}")
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
