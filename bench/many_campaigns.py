"""Benchmark: many CDA campaigns dispatched at once (issue 13: 100 campaigns of 10,000
recipients within one second: all complete, none waits for another to finish, total time
≤ 2× one 1,000,000 campaign).

The stand of bench_cda_100k.py (the API and the WordPress and CDA simulators in this process,
`disparo worker` as its own process, a scratch PostgreSQL database) with
DISPARO_CDA_BATCH_SIZE=`--batch-size` (1,000: a 10,000 campaign is 10 batches, so campaigns
can interleave batch by batch). Each campaign has its own phones, so every CDA request is
mapped to its campaign by the phone of its first line. `--campaigns` dispatches are sent at
once (one `asyncio.gather`; a 503 of the API's load shedding is retried after its
Retry-After, as WordPress does, and counted); for each campaign the bench records when its
dispatch was accepted, when its ingest ended (its batches' `created_at`, read from the
database afterwards), its first and last CDA request and when WordPress got its `enviado`
webhook.

Prints the total time (first dispatch sent → last `enviado`), the completion times'
spread (min/median/p90/max from the first dispatch, max/min), and two fairness signs: how
many campaigns had their first request before the last dispatch was accepted, and before
the first campaign completed (a campaign whose first request comes after another's
`enviado` waited for it). `--reference`: afterwards, in the same run and worker, one
campaign of campaigns × recipients, timed the same way, for the "≤ 2×" ratio.

    .venv/bin/python bench/many_campaigns.py [--campaigns 100] [--recipients 10000]
        [--batch-size 1000] [--concurrency 4] [--reference]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from stand import API_KEY, add_stand_options, peak_rss_mb, start_pipeline, until_enviado

from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.providers.cda.dev import start_cda
from disparo.providers.cda.simulator import CdaSimulator
from disparo.sim import WordPressSimulator, make_rows

HERE = Path(__file__).parent
FIRST_NUMBER = 900_000_000  # phones 5511 + 9xxxxxxxx: campaign c, row i -> c * n + i


@dataclass
class Timeline:
    """One campaign's moments, in seconds since the first dispatch was sent."""

    agendamento_id: str
    accepted: float = 0.0
    planned: float = 0.0  # its ingest's end: when its batches were written
    enviado: float | None = None
    requests: list[float] = field(default_factory=list)


def _rows(agendamento_id: str, campaign: int, count: int) -> list[dict[str, Any]]:
    rows = make_rows(agendamento_id, count)
    for i, row in enumerate(rows):
        row["telefone"] = f"5511{FIRST_NUMBER + campaign * count + i:09d}"
    return rows


def _campaign_of(request: Any, count: int) -> int:
    phone = request.json["mensagens"][0].split(";")[1]
    return (int(phone[4:]) - FIRST_NUMBER) // count


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with scratch_database(args.database_url, "disparo_bench_many") as database_url:
        return await _run(args, database_url)


async def _run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    wordpress = WordPressSimulator(master_key=API_KEY)
    provider = await start_cda(wordpress, 0)
    cda: CdaSimulator = provider.simulator  # type: ignore[assignment]
    wp_server = await start_server(wordpress.app)
    running = await start_pipeline(
        database_url,
        args.redis_url,
        wp_server.url,
        DISPARO_CDA_BATCH_SIZE=str(args.batch_size),
        DISPARO_WORKER_CONCURRENCY=str(args.concurrency),
    )
    stamp = f"{datetime.now(UTC):%Y%m%d%H%M}"
    timelines = [Timeline(f"C{stamp}{c:04d}") for c in range(args.campaigns)]
    for number, timeline in enumerate(timelines):
        wordpress.add_campaign(
            timeline.agendamento_id, _rows(timeline.agendamento_id, number, args.recipients)
        )
    try:
        async with (
            running,
            running.client(
                timeout=60, limits=httpx.Limits(max_connections=args.campaigns)
            ) as client,
        ):
            result = await _many(args, client, wordpress, cda, timelines, database_url)
            if args.reference:
                result |= await _reference(args, client, wordpress, cda)
            result["worker_peak_rss_mb"] = round(peak_rss_mb(running.worker.pid), 1)
    finally:
        await provider.server.stop()
        await wp_server.stop()
    return result


async def _many(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    wordpress: WordPressSimulator,
    cda: CdaSimulator,
    timelines: list[Timeline],
    database_url: str,
) -> dict[str, Any]:
    started = time.time()

    shed: list[float] = []

    async def dispatch(timeline: Timeline) -> None:
        """As WordPress does: a 503 (the API's load shedding) is retried after Retry-After."""
        body = {"agendamento_id": timeline.agendamento_id}
        while (answer := await client.post("/campaigns/dispatch", json=body)).status_code == 503:
            shed.append(float(answer.headers.get("retry-after", "1")))
            await asyncio.sleep(shed[-1])
        answer.raise_for_status()
        timeline.accepted = time.time() - started

    await asyncio.gather(*(dispatch(t) for t in timelines))
    await _until_all_enviado(client, wordpress, timelines, started, args.timeout)
    for request in cda.requests:
        timelines[_campaign_of(request, args.recipients)].requests.append(
            request.received_at.timestamp() - started
        )
    planned = await _planned(database_url)
    for timeline in timelines:
        timeline.planned = planned[timeline.agendamento_id] - started
    return _summary(args, cda, timelines) | {
        "dispatch_503s": len(shed),
        "retry_after_s": sorted(set(shed)),
    }


async def _until_all_enviado(
    client: httpx.AsyncClient,
    wordpress: WordPressSimulator,
    timelines: list[Timeline],
    started: float,
    timeout: float,
) -> None:
    checked = time.time()
    while waiting := [t for t in timelines if t.enviado is None]:
        for timeline in waiting:
            webhooks = wordpress.webhooks_for(timeline.agendamento_id)
            if any(w.get("status") == "enviado" for w in webhooks):
                timeline.enviado = time.time() - started
        now = time.time()
        if now - started > timeout:
            raise SystemExit(f"{len(waiting)} campaigns not enviado after {timeout} s")
        if now - checked > 5:  # now and then, that none has failed
            checked = now
            for timeline in waiting:
                path = f"/campaigns/{timeline.agendamento_id}/status"
                status = (await client.get(path)).json()
                if status["status"] in ("FAILED", "CANCELLED"):
                    raise SystemExit(f"{timeline.agendamento_id} ended {status}")
        await asyncio.sleep(0.05)


async def _planned(database_url: str) -> dict[str, float]:
    """Each campaign's ingest end (its batches' creation, the worker's clock, this machine)."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT c.agendamento_id, extract(epoch FROM max(b.created_at)) AS at "
            "FROM campaigns c JOIN provider_batches b ON b.campaign_id = c.id "
            "GROUP BY c.agendamento_id"
        )
    finally:
        await connection.close()
    return {row["agendamento_id"]: float(row["at"]) for row in rows}


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
    }


def _summary(
    args: argparse.Namespace, cda: CdaSimulator, timelines: list[Timeline]
) -> dict[str, Any]:
    lines = Counter(line.split(";")[1] for r in cda.requests for line in r.json["mensagens"])
    expected = args.campaigns * args.recipients
    done = [t.enviado or 0.0 for t in timelines]
    firsts = [min(t.requests) for t in timelines]
    last_accepted, first_done = max(t.accepted for t in timelines), min(done)
    completion = _spread(done)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": "many_campaigns",
        "campaigns": args.campaigns,
        "recipients_each": args.recipients,
        "cda_batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "dispatch_window_s": round(last_accepted, 3),
        "total_s": round(max(done), 3),
        "completion_s": completion,
        "completion_max_over_min": round(completion["max"] / completion["min"], 2),
        "own_time_s": _spread([t.enviado - t.accepted for t in timelines if t.enviado]),
        "planned_s": _spread([t.planned for t in timelines]),
        "first_request_s": _spread(firsts),
        "first_request_before_last_accept": sum(f < last_accepted for f in firsts),
        "first_request_before_first_enviado": sum(f < first_done for f in firsts),
        "interleaved_campaigns": _interleaved(timelines),
        "cda_requests": len(cda.requests),
        "every_recipient_once": len(lines) == expected and set(lines.values()) == {1},
        # Per campaign, by dispatch order: accepted, planned, first and last request, enviado.
        "timelines": [
            [
                round(v, 3)
                for v in (t.accepted, t.planned, min(t.requests), max(t.requests), t.enviado or 0)
            ]
            for t in timelines
        ],
    }


def _interleaved(timelines: list[Timeline]) -> int:
    """Campaigns with another campaign's request between their first and last request."""
    return sum(
        any(
            min(t.requests) < moment < max(t.requests)
            for other in timelines
            if other is not t
            for moment in other.requests
        )
        for t in timelines
    )


async def _reference(
    args: argparse.Namespace,
    client: httpx.AsyncClient,
    wordpress: WordPressSimulator,
    cda: CdaSimulator,
) -> dict[str, Any]:
    """One campaign of campaigns × recipients on the same worker (same batch size)."""
    count = args.campaigns * args.recipients
    agendamento_id = f"C{datetime.now(UTC):%Y%m%d%H%M}9999"
    # Its phones follow all of the many campaigns' (campaign number 1 at this size).
    wordpress.add_campaign(agendamento_id, _rows(agendamento_id, 1, count))
    seconds = await until_enviado(client, wordpress, agendamento_id)
    return {"reference_recipients": count, "reference_s": round(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--recipients", type=int, default=10_000, help="per campaign")
    parser.add_argument("--batch-size", type=int, default=1_000, help="DISPARO_CDA_BATCH_SIZE")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--reference", action="store_true", help="also one campaign of all")
    parser.add_argument("--timeout", type=float, default=1800)
    add_stand_options(parser)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    result["load_avg_1m"] = round(float(Path("/proc/loadavg").read_text().split()[0]), 2)
    if "reference_s" in result:
        result["ratio_total_to_reference"] = round(result["total_s"] / result["reference_s"], 2)
    for key, value in result.items():
        if key != "timelines":
            print(f"{key:36} {value}")
    print("by first request (accepted, planned, first request, last request, enviado):")
    for line in sorted(result["timelines"], key=lambda t: t[2])[:: max(1, args.campaigns // 10)]:
        print("  ", line)
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
