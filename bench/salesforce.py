"""Benchmark: a Salesforce campaign's sends against a bare async client sending the same
requests to the same simulator (issue 13: disparo ≤ 3×).

The WordPress and Salesforce simulators and the API run in this process, `disparo worker` as
its own process, on PostgreSQL, with no rate limit set. disparo: from
`POST /campaigns/dispatch` until the simulator holds every contact (the Marketing Cloud step
is pushed an hour away, so only sends count; `first_to_last_request_s` leaves out ingest).
The bare client: one token, then the same sObject Collections bodies (200 records each, built
beforehand with disparo's own mapper) POSTed with `--concurrency` (the worker's
DISPARO_WORKER_CONCURRENCY) requests at once on one httpx client, as its own process too.

    .venv/bin/python bench/salesforce.py [--recipients 1000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from stand import API_KEY, peak_rss_mb, seed, start_pipeline, wait_until

from disparo.campaigns.rows import normalize_phone, text
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.providers.base import Recipient
from disparo.providers.salesforce.dev import DEV_OPERACAO, start_salesforce
from disparo.providers.salesforce.mapper import build_collections
from disparo.providers.salesforce.simulator import (
    SOBJECTS_PATH,
    TOKEN_PATH,
    SalesforceAccount,
    SalesforceSimulator,
)
from disparo.sim.wordpress import WordPressSimulator

HERE = Path(__file__).parent
BATCH = 200


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with scratch_database(args.database_url, "disparo_bench_sf") as database_url:
        return await _run(args, database_url)


async def _run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    wordpress = WordPressSimulator(master_key=API_KEY)
    salesforce = await start_salesforce(wordpress, 0)
    simulator: SalesforceSimulator = salesforce.simulator  # type: ignore[assignment]
    wp_server = await start_server(wordpress.app)
    running = await start_pipeline(
        database_url,
        args.redis_url,
        wp_server.url,
        DISPARO_SALESFORCE_MKC_DELAY="3600",
        DISPARO_WORKER_CONCURRENCY=str(args.concurrency),
    )
    rounds = []
    try:
        async with (
            running,
            running.client() as client,
        ):
            for number in range(args.repeat):
                rows = seed(wordpress, f"S{number:013d}", args.recipients)
                disparo = await _disparo(client, simulator, f"S{number:013d}", args.recipients)
                bare = await _bare(salesforce.server.url, simulator, rows, args.concurrency)
                print(f"round {number + 1}: disparo {disparo}, bare {bare:.2f} s")
                rounds.append({**disparo, "bare_s": bare})
            rss = peak_rss_mb(running.worker.pid)
    finally:
        await wp_server.stop()
        await salesforce.server.stop()
    total = statistics.median(r["total_s"] for r in rounds)
    sending = statistics.median(r["first_to_last_request_s"] for r in rounds)
    bare = statistics.median(r["bare_s"] for r in rounds)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": "salesforce",
        "recipients": args.recipients,
        "requests": -(-args.recipients // BATCH),
        "concurrency": args.concurrency,
        "disparo_total_s": round(total, 3),
        "disparo_first_to_last_request_s": round(sending, 3),
        "bare_s": round(bare, 3),
        "ratio_total_to_bare": round(total / bare, 2),
        "ratio_sending_to_bare": round(sending / bare, 2),
        "worker_peak_rss_mb": round(rss, 1),
        "rounds": rounds,
    }


async def _disparo(
    client: httpx.AsyncClient, simulator: SalesforceSimulator, agendamento: str, count: int
) -> dict[str, float]:
    before = len(simulator.contacts)
    started = time.perf_counter()
    (
        await client.post("/campaigns/dispatch", json={"agendamento_id": agendamento})
    ).raise_for_status()
    first = None

    def all_created() -> bool:
        nonlocal first
        if first is None and len(simulator.contacts) > before:
            first = time.perf_counter()
        return len(simulator.contacts) - before >= count

    await wait_until(all_created, client, agendamento)
    done = time.perf_counter()
    return {
        "total_s": round(done - started, 3),
        "first_to_last_request_s": round(done - (first or started), 3),
    }


async def _bare(
    base_url: str, simulator: SalesforceSimulator, rows: list[Any], concurrency: int
) -> float:
    bodies = _bodies(rows)
    path = Path(tempfile.gettempdir()) / f"disparo-bench-bare-{uuid.uuid4().hex[:8]}.json"
    path.write_bytes(orjson.dumps({"url": base_url, "bodies": bodies}))
    before = len(simulator.contacts)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--bare", str(path), "--concurrency", str(concurrency),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await process.communicate()
    finally:
        path.unlink()
    sent = len(simulator.contacts) - before
    if process.returncode or sent != sum(len(b["records"]) for b in bodies):
        raise SystemExit(f"the bare client failed ({process.returncode}, {sent} contacts)")
    return float(json.loads(out)["seconds"])


def _bodies(rows: list[Any]) -> list[dict[str, Any]]:
    recipients = [
        Recipient(i, phone, text(row, "nome"), text(row, "cpf_cnpj"), "", "", "", "")
        for i, row in enumerate(rows)
        if (phone := normalize_phone(text(row, "telefone").strip()))
    ]
    return [
        dict(build_collections(recipients[start : start + BATCH], DEV_OPERACAO))
        for start in range(0, len(recipients), BATCH)
    ]


async def bare_client(spec_path: str, concurrency: int) -> float:
    """The bare side, in its own process: token, then every body, `concurrency` at once."""
    spec = orjson.loads(await asyncio.to_thread(Path(spec_path).read_bytes))
    bodies = [orjson.dumps(body) for body in spec["bodies"]]
    account = SalesforceAccount()
    async with httpx.AsyncClient(base_url=spec["url"], timeout=120) as client:
        started = time.perf_counter()
        token = await client.post(
            TOKEN_PATH,
            data={
                "grant_type": "password",
                "client_id": account.client_id,
                "client_secret": account.client_secret,
                "username": account.username,
                "password": account.password,
            },
        )
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Content-Type": "application/json",
        }
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def sender() -> None:
            while not queue.empty():
                answer = await client.post(
                    SOBJECTS_PATH, content=queue.get_nowait(), headers=headers
                )
                answer.raise_for_status()

        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        print(json.dumps({"seconds": asyncio.run(bare_client(args.bare, args.concurrency))}))
        return
    result = asyncio.run(run(args))
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
