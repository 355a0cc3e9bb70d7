"""Benchmark: the time from accepting a dispatch to the provider's first request.

The same stand-ins as bench_cda_100k.py (WordPress and CDA simulators and the API in this
process, `disparo worker` as its own process, PostgreSQL): `--campaigns` campaigns of
`--recipients` (1,000) are dispatched one after another, each once the previous one is done;
for each, the seconds from sending `POST /campaigns/dispatch` to the CDA simulator holding
the campaign's request (polled every millisecond on the simulator's own loop). Prints each,
their median and p90, and appends them to bench/results.jsonl. Goal (issue 13): ≤ 150 ms.

    .venv/bin/python bench/first_request.py [--campaigns 10] [--recipients 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_cda_100k import CDA_KEY
from stand import API_KEY, start_pipeline

from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.sim.wordpress import WordPressSimulator

HERE = Path(__file__).parent


async def run(args: argparse.Namespace) -> dict[str, object]:
    async with scratch_database(args.database_url, "disparo_bench_first") as database_url:
        return await _run(args, database_url)


async def _run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    wordpress = WordPressSimulator(master_key=API_KEY)
    cda = CdaSimulator(api_key=CDA_KEY)
    wp_server = await start_server(wordpress.app)
    cda_server = await start_server(cda.app)
    wordpress.set_credentials("cda", {"api_url": cda_server.url + IMPORT_PATH, "api_key": CDA_KEY})
    running = await start_pipeline(database_url, args.redis_url, wp_server.url)
    seconds: list[float] = []
    try:
        async with (
            running,
            running.client() as client,
        ):
            for number in range(args.campaigns + 1):  # the first one warms the worker up
                agendamento_id = f"C{datetime.now(UTC):%Y%m%d%H%M%S}{number:03d}"
                wordpress.seed_campaign(agendamento_id, args.recipients)
                took = await _first_request(client, cda, agendamento_id)
                if number:
                    seconds.append(took)
                await _until_done(client, agendamento_id)
    finally:
        await cda_server.stop()
        await wp_server.stop()
    ordered = sorted(seconds)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": "first_request",
        "recipients": args.recipients,
        "campaigns": args.campaigns,
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "each_ms": [round(value * 1000, 1) for value in seconds],
    }


async def _first_request(client: httpx.AsyncClient, cda: CdaSimulator, agendamento: str) -> float:
    before = len(cda.requests)
    started = time.perf_counter()
    (
        await client.post("/campaigns/dispatch", json={"agendamento_id": agendamento})
    ).raise_for_status()
    while len(cda.requests) == before:
        if time.perf_counter() - started > 30:
            raise SystemExit(f"{agendamento}: no CDA request within 30 s")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def _until_done(client: httpx.AsyncClient, agendamento_id: str) -> None:
    while True:
        status = (await client.get(f"/campaigns/{agendamento_id}/status")).json()
        if status["status"] in ("COMPLETED", "FAILED"):
            return
        await asyncio.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
