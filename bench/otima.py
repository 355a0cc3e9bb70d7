"""Benchmark: Ótima RCS and Ótima WhatsApp campaigns through the whole pipeline against the
floor for their shape (issue 13: 100,000 recipients, 100 requests of 1,000, ≤ 2.5× the floor).

For each provider, each of `--repeat` rounds sends one campaign through disparo (the API and
the WordPress and Ótima simulators in this process, `disparo worker` as its own process, on a
scratch PostgreSQL database), timed from `POST /campaigns/dispatch` until WordPress holds the
`enviado` webhook, and one through the floor for that shape, as its own process: fetch the
rows from the same WordPress simulator, check and de-duplicate the phones (disparo's
`normalize_phone`), COPY them into PostgreSQL (floor.py's table), then the same requests of
1,000 messages, their bodies built on the fly with disparo's own mapper by `--concurrency`
(the worker's DISPARO_WORKER_CONCURRENCY) senders on one bare httpx client, then the webhook.
After each side the simulator's requests are checked: every recipient exactly once.

No delivery callbacks: the worker runs with DISPARO_PUBLIC_URL and the fixed callback URLs
empty, so no message carries url_callback_status/mo (counted: `messages_with_callback_url`)
and the simulator fires none at the bench (`callback_posts`).

    .venv/bin/python bench/otima.py [--provider rcs|whatsapp|both] [--recipients 100000]
        [--repeat 3] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from floor import Stand, create_table, fetch_credentials, fetch_rows, post_webhook, record
from stand import API_KEY, add_stand_options, peak_rss_mb, run_json, start_pipeline, until_enviado

from disparo.campaigns.rows import env_id_of, extra_of, text
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.providers.base import Recipient
from disparo.providers.rcs_otima import dev as rcs_dev
from disparo.providers.rcs_otima import mapper as rcs_mapper
from disparo.providers.whatsapp_otima import dev as wpp_dev
from disparo.providers.whatsapp_otima import mapper as wpp_mapper
from disparo.providers.whatsapp_otima.wire import HSM_PATH
from disparo.sim import RunningSimulator, WordPressSimulator, make_rows
from disparo.sim.otima import OtimaBulkSimulator

HERE = Path(__file__).parent
PER_REQUEST = 1_000
Bodies = Callable[[dict[str, Any], Sequence[Recipient]], tuple[str, bytes]]


def _rcs_body(credentials: dict[str, Any], chunk: Sequence[Recipient]) -> tuple[str, bytes]:
    defaults = {"broker_code": credentials.get("broker_code", "")}
    campaign = rcs_mapper.campaign_of(chunk[0].message, chunk[0], defaults)
    (request,) = rcs_mapper.build_requests(campaign, chunk, credentials.get("customer_code", ""))
    return request.path, rcs_mapper.as_json(request.body)


def _wpp_body(credentials: dict[str, Any], chunk: Sequence[Recipient]) -> tuple[str, bytes]:
    campaign = wpp_mapper.campaign_of(chunk[0].message, credentials)
    return HSM_PATH, wpp_mapper.as_json(wpp_mapper.build_body(campaign, chunk))


@dataclass(frozen=True)
class Shape:
    """One provider as the bench drives it: its prefix, simulator, rows and bodies."""

    name: str
    prefix: str
    credentials_path: str
    webhook_provider: str
    start: Callable[[WordPressSimulator, int], Any]
    message: str
    body: Bodies

    def phones(self, simulator: OtimaBulkSimulator) -> list[str]:
        """Every message's phone the simulator was sent, as sent (RCS 55…, WhatsApp national)."""
        key = "phone" if self.name == "rcs" else "whatsapp"
        return [m[key] for r in simulator.requests for m in (r.json or {}).get("messages", [])]


SHAPES = {
    "rcs": Shape(
        "rcs", "O", "rcs_otima", "RCS_OTIMA", rcs_dev.start_otima,
        rcs_dev.template_message("77"), _rcs_body,
    ),
    "whatsapp": Shape(
        "whatsapp", "W", "whatsapp_otima", "WHATSAPP_OTIMA", wpp_dev.start_whatsapp_otima,
        wpp_dev.template_message(), _wpp_body,
    ),
}  # fmt: skip


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    names = ["rcs", "whatsapp"] if args.provider == "both" else [args.provider]
    results = []
    for name in names:
        async with scratch_database(args.database_url, f"disparo_bench_{name}") as database_url:
            results.append(await _run(args, SHAPES[name], database_url))
    return results


async def _run(args: argparse.Namespace, shape: Shape, database_url: str) -> dict[str, Any]:
    wordpress = WordPressSimulator(master_key=API_KEY)
    provider: RunningSimulator = await shape.start(wordpress, 0)
    simulator: OtimaBulkSimulator = provider.simulator  # type: ignore[assignment]
    wp_server = await start_server(wordpress.app)
    running = await start_pipeline(
        database_url,
        args.redis_url,
        wp_server.url,
        DISPARO_WORKER_CONCURRENCY=str(args.concurrency),
        # No public URL and no fixed callback URLs: the simulator calls nobody back.
        DISPARO_PUBLIC_URL="",
        DISPARO_RCS_OTIMA_STATUS_CALLBACK_URL="",
        DISPARO_RCS_OTIMA_MO_CALLBACK_URL="",
    )
    stand = Stand(wp_server.url, API_KEY, database_url)
    await create_table(database_url)
    rounds = []
    try:
        async with (
            running,
            running.client() as client,
        ):
            for number in range(args.repeat):
                measured = await _round(args, shape, client, wordpress, simulator, stand, number)
                print(
                    f"{shape.name} round {number + 1}: disparo {measured['disparo_s']:.2f} s, "
                    f"floor {measured['floor_s']:.2f} s"
                )
                rounds.append(measured)
            rss = peak_rss_mb(running.worker.pid)
    finally:
        await wp_server.stop()
        await provider.server.stop()
    disparo = statistics.median(r["disparo_s"] for r in rounds)
    floor = statistics.median(r["floor_s"] for r in rounds)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": f"otima_{shape.name}",
        "recipients": args.recipients,
        "repeat": args.repeat,
        "concurrency": args.concurrency,
        "disparo_s": round(disparo, 3),
        "floor_s": round(floor, 3),
        "ratio_to_floor": round(disparo / floor, 2),
        "each_disparo_s": [r["disparo_s"] for r in rounds],
        "each_floor_s": [r["floor_s"] for r in rounds],
        "disparo_requests": rounds[0]["disparo_requests"],
        "floor_requests": rounds[0]["floor_requests"],
        "every_recipient_once": all(r["once"] for r in rounds),
        "messages_with_callback_url": sum(r["with_callback_url"] for r in rounds),
        "callback_posts": simulator.callbacks.fired.posts,  # type: ignore[attr-defined]
        "worker_peak_rss_mb": round(rss, 1),
        "load_avg_1m": round(_load(), 2),
    }


async def _round(
    args: argparse.Namespace,
    shape: Shape,
    client: httpx.AsyncClient,
    wordpress: WordPressSimulator,
    simulator: OtimaBulkSimulator,
    stand: Stand,
    number: int,
) -> dict[str, Any]:
    stamp = f"{datetime.now(UTC):%Y%m%d%H%M%S}{number:02d}"
    disparo_id, floor_id = f"{shape.prefix}{stamp}", f"F{shape.prefix}{stamp}"
    for agendamento_id in (disparo_id, floor_id):
        rows = make_rows(agendamento_id, args.recipients, message=shape.message)
        wordpress.add_campaign(agendamento_id, rows)
    expected = {r["telefone"] for r in rows}
    disparo = await until_enviado(client, wordpress, disparo_id)
    disparo_check = _check(shape, simulator, expected)
    spec = json.dumps({"stand": stand.__dict__, "agendamento": floor_id, "shape": shape.name})
    floor = await run_json(Path(__file__), "--floor", spec, "--concurrency", str(args.concurrency))
    floor_check = _check(shape, simulator, expected)
    return {
        "disparo_s": round(disparo, 3),
        "floor_s": round(float(floor["seconds"]), 3),
        "disparo_requests": disparo_check[0],
        "floor_requests": floor_check[0],
        "once": disparo_check[1] and floor_check[1],
        "with_callback_url": disparo_check[2] + floor_check[2],
    }


def _check(
    shape: Shape, simulator: OtimaBulkSimulator, expected: set[str]
) -> tuple[int, bool, int]:
    """(requests, every expected phone exactly once, messages carrying a callback URL); then
    forgets the requests, so the next side is counted alone and memory stays flat."""
    accepted = [r for r in simulator.requests if r.response_status == 200]
    phones = Counter(shape.phones(simulator))
    wanted = {p[2:] for p in expected} if shape.name == "whatsapp" else expected
    once = set(phones) == wanted and all(n == 1 for n in phones.values())
    once = once and len(accepted) == len(simulator.requests)
    with_url = sum(
        1
        for r in simulator.requests
        for m in (r.json or {}).get("messages", [])
        if "url_callback_status" in m or "url_callback_mo" in m
    )
    requests = len(simulator.requests)
    simulator.requests.clear()
    for kept in ("deliveries", "delivered"):
        if hasattr(simulator, kept):
            getattr(simulator, kept).clear()
    return requests, once, with_url


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


async def run_floor(stand: Stand, shape: Shape, agendamento_id: str, concurrency: int) -> float:
    """The floor, in its own process: fetch, check, COPY, the requests, the webhook."""
    headers = {"X-API-KEY": stand.wordpress_key, "Accept": "application/json"}
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=stand.wordpress_url, headers=headers, timeout=300) as wp:
        rows = await fetch_rows(wp, agendamento_id)
        credentials = await fetch_credentials(wp, shape.credentials_path, env_id_of(rows[0]))
        valid = await record(stand.database_url, rows)
        recipients = [_recipient(rows[r[1]], r[1], r[2]) for r in valid]
        await _send(shape, credentials, recipients, concurrency)
        await post_webhook(wp, agendamento_id, len(valid), shape.webhook_provider)
    return time.perf_counter() - started


def _recipient(row: dict[str, Any], index: int, phone: str) -> Recipient:
    return Recipient(
        index, phone, text(row, "nome"), text(row, "cpf_cnpj"), text(row, "id_carteira"),
        text(row, "idgis_ambiente"), text(row, "idcob_contrato"), text(row, "mensagem"),
        extra_of(row),
    )  # fmt: skip


async def _send(
    shape: Shape, credentials: dict[str, Any], recipients: list[Recipient], concurrency: int
) -> None:
    """`concurrency` senders on one client; each builds the next 1,000's body, then posts it."""
    chunks = iter(range(0, len(recipients), PER_REQUEST))
    headers = {"authorization": credentials["token"], "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=credentials["api_url"], timeout=120) as client:

        async def sender() -> None:
            for start in chunks:
                path, body = shape.body(credentials, recipients[start : start + PER_REQUEST])
                answer = await client.post(path, content=body, headers=headers)
                answer.raise_for_status()

        await asyncio.gather(*(sender() for _ in range(concurrency)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", choices=["rcs", "whatsapp", "both"], default="both")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    add_stand_options(parser)
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        spec = orjson.loads(args.floor)
        seconds = asyncio.run(
            run_floor(
                Stand(**spec["stand"]), SHAPES[spec["shape"]], spec["agendamento"], args.concurrency
            )
        )
        print(json.dumps({"seconds": seconds}))
        return
    for result in asyncio.run(run(args)):
        for key, value in result.items():
            print(f"{key:28} {value}")
        with (HERE / "results.jsonl").open("a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
