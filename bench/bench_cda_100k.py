"""Benchmark: one CDA campaign through the whole pipeline on PostgreSQL, against the floor.

The WordPress and CDA simulators and the API run in this process; the worker runs as its own
`disparo worker` process, so its peak RSS (VmHWM) is the worker's alone. Each of `--repeat`
rounds sends one campaign through disparo (from `POST /campaigns/dispatch` until WordPress
holds the `enviado` webhook) and one through `floor.py` (the bare fetch, check, COPY, POST and
webhook, as its own process, against the same simulators and database). Prints the medians,
the ratio disparo/floor (issue 13: ≤ 2×), recipients/s and the worker's peak RSS, and appends
them to bench/results.jsonl.

    .venv/bin/python bench/bench_cda_100k.py [--recipients 100000] [--repeat 3] [--no-floor]
        [--repeated 0.01]   # that share of rows repeats an earlier row's phone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from datetime import UTC, datetime
from pathlib import Path

import httpx
from floor import Stand, create_table
from stand import API_KEY, peak_rss_mb, run_json, seed, start_pipeline, until_enviado

from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.sim.wordpress import WordPressSimulator

HERE = Path(__file__).parent
CDA_KEY = "bench-cda-key"


async def run(args: argparse.Namespace) -> dict[str, object]:
    async with scratch_database(args.database_url, "disparo_bench") as database_url:
        return await _run(args, database_url)


async def _run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    recipients, redis_url = args.recipients, args.redis_url
    wordpress = WordPressSimulator(master_key=API_KEY)
    cda = CdaSimulator(api_key=CDA_KEY)
    wp_server = await start_server(wordpress.app)
    cda_server = await start_server(cda.app)
    wordpress.set_credentials("cda", {"api_url": cda_server.url + IMPORT_PATH, "api_key": CDA_KEY})
    # Past 1,000,000 rows the simulator's answer (~615 bytes a row) outgrows the worker's
    # default guards, which refuse it: 1 GiB (DISPARO_WORDPRESS_ROWS_MAX_BYTES) and 2,000,000
    # rows (DISPARO_WORDPRESS_MAX_ROWS). The 5,000,000 run raises both.
    guards = {
        "DISPARO_WORDPRESS_ROWS_MAX_BYTES": str(max(2**30, recipients * 1024)),
        "DISPARO_WORDPRESS_MAX_ROWS": str(max(2_000_000, recipients)),
    }
    running = await start_pipeline(database_url, redis_url, wp_server.url, **guards)
    stand = Stand(wp_server.url, API_KEY, database_url)
    await create_table(database_url)
    rounds: list[dict[str, float]] = []
    try:
        async with (
            running,
            running.client() as client,
        ):
            for number in range(args.repeat):
                measured = {"disparo": await _disparo(client, wordpress, args, number)}
                if not args.no_floor:
                    measured["floor"] = await _floor(stand, wordpress, args, number)
                print(
                    f"round {number + 1}: "
                    + ", ".join(f"{k} {v:.2f} s" for k, v in measured.items())
                )
                rounds.append(measured)
            rss = peak_rss_mb(running.worker.pid)
    finally:
        await cda_server.stop()
        await wp_server.stop()
    lines = sum(len(request.json["mensagens"]) for request in cda.requests)
    each = recipients - repeats_in(recipients, args.repeated)
    if lines != each * args.repeat * (1 if args.no_floor else 2):
        raise SystemExit(f"the CDA simulator received {lines} lines in all")
    seconds = statistics.median(r["disparo"] for r in rounds)
    result: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipients": recipients,
        "repeated_rows": repeats_in(recipients, args.repeated),
        "database": "postgresql",
        "repeat": args.repeat,
        "seconds_accept_to_enviado": round(seconds, 3),
        "each_disparo_s": [round(r["disparo"], 3) for r in rounds],
        "recipients_per_s": round(recipients / seconds),
        "worker_peak_rss_mb": round(rss, 1),
        "cda_requests": len(cda.requests),
    }
    if not args.no_floor:
        floor_seconds = statistics.median(r["floor"] for r in rounds)
        result["floor_s"] = round(floor_seconds, 3)
        result["each_floor_s"] = [round(r["floor"], 3) for r in rounds]
        result["ratio_to_floor"] = round(seconds / floor_seconds, 2)
    return result


def repeats_in(recipients: int, repeated: float) -> int:
    """How many rows stand.seed makes repeat an earlier phone."""
    if not repeated:
        return 0
    every = max(2, round(1 / repeated))
    return len(range(every - 1, recipients, every))


async def _disparo(
    client: httpx.AsyncClient, wordpress: WordPressSimulator, args: argparse.Namespace, number: int
) -> float:
    agendamento_id = f"C{datetime.now(UTC):%Y%m%d%H%M%S}{number:02d}"
    seed(wordpress, agendamento_id, args.recipients, args.repeated)
    return await until_enviado(client, wordpress, agendamento_id)


async def _floor(
    stand: Stand, wordpress: WordPressSimulator, args: argparse.Namespace, number: int
) -> float:
    agendamento_id = f"F{datetime.now(UTC):%Y%m%d%H%M%S}{number:02d}"
    seed(wordpress, agendamento_id, args.recipients, args.repeated)
    stand_json = json.dumps(stand.__dict__)
    out = await run_json(HERE / "floor.py", "--stand", stand_json, "--agendamento", agendamento_id)
    print(f"  floor phases: {out['phases']}")
    return float(out["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the benchmark creates and drops its own database",
    )  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-floor", action="store_true", help="disparo alone")
    parser.add_argument(
        "--repeated", type=float, default=0.0,
        help="share of rows that repeat an earlier row's phone (both sides skip them)",
    )  # fmt: skip
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:30} {value}")
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
