"""What the pipeline benchmarks share: the API in the bench's process on a migrated scratch
database, and `disparo worker` as its own process with the same settings (so its RSS and CPU
are its own), both in development mode against the bench's own simulators."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from disparo.app import create_app
from disparo.config import Settings
from disparo.http_server import RunningServer, start_server
from disparo.migrations import upgrade
from disparo.runtime import Runtime, open_runtime
from disparo.sim.wordpress import WordPressSimulator

API_KEY = "bench-key"


def seed(
    wordpress: WordPressSimulator, agendamento_id: str, count: int, repeated: float = 0.0
) -> list[dict[str, Any]]:
    """Seed a campaign's rows in the simulator, outside any timed span (`repeated`: the
    share of rows that repeat an earlier row's phone, spread evenly): its answer encoded
    now (not at the first request), and every object made so far frozen out of the garbage
    collector, so that serving a million rows to either side is not timed as the bench
    process collecting the simulators' millions of row objects (the 1,000,000 floor's fetch
    and parse took 21 s of its 28 s; 14–16 s of ~20.5 s with this and its own collector off)."""
    rows = wordpress.seed_campaign(agendamento_id, count)
    if repeated:
        every = max(2, round(1 / repeated))
        for index in range(every - 1, count, every):
            rows[index]["telefone"] = rows[index // 2]["telefone"]
        wordpress.store.add_campaign(agendamento_id, rows)
    wordpress.store.campaigns[agendamento_id].body()
    gc.collect()
    gc.freeze()
    return rows


@dataclass
class Pipeline:
    api: RunningServer
    runtime: Runtime
    worker: subprocess.Popen[bytes]

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An httpx client of the API, with the bench's key (`options`: more of httpx's)."""
        return httpx.AsyncClient(base_url=self.api.url, headers={"X-API-KEY": API_KEY}, **options)

    async def __aenter__(self) -> Pipeline:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.worker.terminate()
        # In a thread: the simulators live on this loop and the worker may still be
        # delivering its last webhook to them while it shuts down.
        await asyncio.to_thread(self.worker.communicate, timeout=30)
        await self.api.stop()
        await self.runtime.close()


async def start_pipeline(
    database_url: str, redis_url: str, wordpress_url: str, **worker_env: str
) -> Pipeline:
    """`worker_env`: more DISPARO_* variables for the worker (e.g. its concurrency)."""
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "DISPARO_DATABASE_URL": database_url,
        "DISPARO_REDIS_URL": redis_url,
        "DISPARO_QUEUE_PREFIX": prefix,
        "DISPARO_API_KEYS": API_KEY,
        # A loopback benchmark with one short key for both directions: development mode.
        "DISPARO_ENV": "development",
        "DISPARO_WORDPRESS_URL": wordpress_url,
        "DISPARO_LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "WARNING"),
        **worker_env,
    }
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        queue_prefix=prefix,
        api_keys=[SecretStr(API_KEY)],
        env="development",
        wordpress_url=wordpress_url,
        log_level="WARNING",
    )
    await upgrade(settings.sqlalchemy_url)
    runtime = await open_runtime(settings)
    api = await start_server(create_app(runtime=runtime))
    worker = start_worker(env)
    await asyncio.sleep(3)  # let the worker connect
    return Pipeline(api, runtime, worker)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    disparo = Path(sys.executable).with_name("disparo")
    return subprocess.Popen([str(disparo), "worker"], env=env, stderr=subprocess.PIPE)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def until_enviado(
    client: httpx.AsyncClient, wordpress: WordPressSimulator, agendamento_id: str
) -> float:
    """`POST /campaigns/dispatch` (on the API `client`), then wait until WordPress holds the
    campaign's `enviado` webhook: the seconds between (SystemExit if the campaign fails)."""
    started = time.perf_counter()
    answer = await client.post("/campaigns/dispatch", json={"agendamento_id": agendamento_id})
    answer.raise_for_status()

    def enviado() -> bool:
        return any(w.get("status") == "enviado" for w in wordpress.webhooks_for(agendamento_id))

    await wait_until(enviado, client, agendamento_id)
    return time.perf_counter() - started


# How often the bench looks at its own simulators (free: they are in its process), and how
# often it asks the API whether the campaign failed. A status read costs the API several ms
# of CPU on the same two cores: asked every 20 ms, as it was, the bench itself took a third
# of a core from the pipeline it was timing.
LOOK_EVERY_S = 0.005
ASK_EVERY_S = 1.0


async def wait_until(
    done: Callable[[], bool], client: httpx.AsyncClient, agendamento_id: str
) -> None:
    """Wait until `done()` (a look at the simulators) holds; SystemExit if the campaign
    fails meanwhile."""
    asked = time.perf_counter()
    while not done():
        if time.perf_counter() - asked >= ASK_EVERY_S:
            asked = time.perf_counter()
            status = (await client.get(f"/campaigns/{agendamento_id}/status")).json()
            if status["status"] in ("FAILED", "CANCELLED"):
                raise SystemExit(f"campaign ended {status}")
        await asyncio.sleep(LOOK_EVERY_S)


async def run_json(script: Path, *args: str) -> Any:
    """Run a bench script as its own process (as disparo's worker is); its stdout's JSON."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    if process.returncode:
        raise SystemExit(f"{script.name} failed ({process.returncode})")
    return json.loads(out)


def add_stand_options(parser: argparse.ArgumentParser) -> None:
    """--database-url (an admin URL: the bench creates and drops its own database), --redis-url."""
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the benchmark creates and drops its own database",
    )  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
