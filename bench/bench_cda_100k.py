"""Benchmark: one CDA campaign through the whole pipeline on PostgreSQL.

The WordPress and CDA simulators and the API run in this process; the worker runs as its own
`disparo worker` process, so its peak RSS (VmHWM) is the worker's alone. Prints seconds from
accept to COMPLETED, recipients/s and the worker's peak RSS, and appends them to
bench/results.jsonl.

    .venv/bin/python bench/bench_cda_100k.py [--recipients 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from disparo.app import create_app
from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.migrations import upgrade
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.runtime import open_runtime
from disparo.sim.wordpress import WordPressSimulator

HERE = Path(__file__).parent
API_KEY = "bench-key"
CDA_KEY = "bench-cda-key"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    disparo = Path(sys.executable).with_name("disparo")
    return subprocess.Popen([str(disparo), "worker"], env=env, stdout=None, stderr=subprocess.PIPE)


async def run(recipients: int, admin_url: str, redis_url: str) -> dict[str, object]:
    async with scratch_database(admin_url, "disparo_bench") as database_url:
        return await _run(recipients, database_url, redis_url)


async def _run(recipients: int, database_url: str, redis_url: str) -> dict[str, object]:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    wordpress = WordPressSimulator(master_key=API_KEY)
    cda = CdaSimulator(api_key=CDA_KEY)
    wp_server = await start_server(wordpress.app)
    cda_server = await start_server(cda.app)
    wordpress.set_credentials("cda", {"api_url": cda_server.url + IMPORT_PATH, "api_key": CDA_KEY})
    env = {
        **os.environ,
        "DISPARO_DATABASE_URL": database_url,
        "DISPARO_REDIS_URL": redis_url,
        "DISPARO_QUEUE_PREFIX": prefix,
        "DISPARO_API_KEYS": API_KEY,
        # A loopback benchmark with one short key for both directions: development mode.
        "DISPARO_ENV": "development",
        "DISPARO_WORDPRESS_URL": wp_server.url,
        "DISPARO_LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "WARNING"),
    }
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        queue_prefix=prefix,
        api_keys=[SecretStr(API_KEY)],
        env="development",
        wordpress_url=wp_server.url,
        log_level="WARNING",
    )
    await upgrade(settings.sqlalchemy_url)
    runtime = await open_runtime(settings)
    api = await start_server(create_app(runtime=runtime))
    worker = start_worker(env)
    agendamento_id = "C" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    wordpress.seed_campaign(agendamento_id, recipients)
    await asyncio.sleep(3)  # let the worker connect
    try:
        async with httpx.AsyncClient(base_url=api.url, headers={"X-API-KEY": API_KEY}) as client:
            started = time.perf_counter()
            answer = await client.post(
                "/campaigns/dispatch", json={"agendamento_id": agendamento_id}
            )
            answer.raise_for_status()
            while True:
                status = (await client.get(f"/campaigns/{agendamento_id}/status")).json()
                if status["status"] in ("COMPLETED", "FAILED"):
                    break
                await asyncio.sleep(0.02)
            seconds = time.perf_counter() - started
        rss = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        # In a thread: the simulators live on this loop and the worker may still be
        # delivering its last webhook to them while it shuts down.
        _, stderr = await asyncio.to_thread(worker.communicate, timeout=30)
        await api.stop()
        await runtime.close()
        await cda_server.stop()
        await wp_server.stop()
    if status["status"] != "COMPLETED":
        raise SystemExit(f"campaign ended {status}; worker said:\n{stderr.decode()[-3000:]}")
    lines = sum(len(request.json["mensagens"]) for request in cda.requests)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipients": recipients,
        "database": "postgresql",
        "seconds_accept_to_completed": round(seconds, 3),
        "recipients_per_s": round(recipients / seconds),
        "worker_peak_rss_mb": round(rss, 1),
        "cda_requests": len(cda.requests),
        "lines_received_by_cda": lines,
        "sent_messages": status["sent_messages"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the benchmark creates and drops its own database",
    )  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    result = asyncio.run(run(args.recipients, args.database_url, args.redis_url))
    for key, value in result.items():
        print(f"{key:30} {value}")
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
