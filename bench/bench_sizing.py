"""Sizing figures for docs/operations.md: recipients per second per worker process and per
CPU-second, PostgreSQL and Redis connections per process, Redis memory per job.

A scratch PostgreSQL database, a private redis-server (so INFO memory is ours alone), the
WordPress and CDA simulators in this process, and `disparo worker` processes:

1. a worker that serves only `dispatch-campaign` ingests a campaign: its send jobs wait in
   Redis, and their memory is measured (MEMORY USAGE of every key of our prefix, and the
   INFO used_memory delta);
2. N send workers (`--workers 1 2` by default: one run each) send it; the time from their
   start to COMPLETED, and each process's CPU time (/proc), give recipients/s and
   recipients per CPU-second; each process's TCP connections to PostgreSQL and Redis are
   sampled every 50 ms (the peak is printed).

    .venv/bin/python bench/bench_sizing.py [--recipients 100000] [--batch 200] [--workers 1 2]
                                           [--campaigns 1]

`--campaigns K` splits the recipients over K campaigns dispatched together: the batches of one
campaign take turns on its row lock, so K > 1 shows what more processes add across campaigns.

Small batches (Salesforce's 200) are the costly case per recipient: every batch is a claim,
a credentials fetch, a rate-limit slot, a request and an outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import redis
from pydantic import SecretStr
from sqlalchemy import select

from disparo.campaigns.models import Campaign
from disparo.campaigns.service import dispatch
from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.http_server import start_server
from disparo.migrations import upgrade
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.queues.names import QueueName
from disparo.runtime import Runtime, open_runtime
from disparo.sim.wordpress import WordPressSimulator

HERE = Path(__file__).parent
KEY = "bench-sizing-key-0123456789abcdef0123"
CDA_KEY = "bench-cda-key"
DISPARO = str(Path(sys.executable).with_name("disparo"))
PG_PORT, CLK_TCK = 5432, os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen([*args, "--dir", str(directory)], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return process, port
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def redis_bytes(port: int, prefix: str) -> tuple[int, int, int]:
    """(used_memory, sum of MEMORY USAGE of our keys, number of our keys)."""
    client = redis.Redis(port=port)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    usage = sum(int(client.memory_usage(key) or 0) for key in keys)
    return int(client.info("memory")["used_memory"]), usage, len(keys)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def connections(pid: int, redis_port: int) -> tuple[int, int]:
    found = psutil.Process(pid).net_connections(kind="tcp")
    ports = [c.raddr.port for c in found if c.raddr and c.status == "ESTABLISHED"]
    return ports.count(PG_PORT), ports.count(redis_port)


def start_workers(env: dict[str, str], count: int, *queues: str) -> list[subprocess.Popen[bytes]]:
    args = [f"--queue={queue}" for queue in queues]
    return [
        subprocess.Popen([DISPARO, "worker", *args], env=env, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(60)


async def statuses(rt: Runtime, agendamento_ids: list[str]) -> set[str]:
    async with rt.sessions() as session:
        found = await session.scalars(
            select(Campaign.status).where(Campaign.agendamento_id.in_(agendamento_ids))
        )
        return {str(status) for status in found}


async def until(check: Callable[[], Awaitable[bool]], interval: float) -> None:
    while True:
        if await check():
            return
        await asyncio.sleep(interval)


async def wait_all(rt: Runtime, agendamento_ids: list[str], wanted: set[str]) -> set[str]:
    async def reached() -> bool:
        return await statuses(rt, agendamento_ids) <= wanted

    await until(reached, 0.1)
    return await statuses(rt, agendamento_ids)


async def one_run(ctx: dict[str, Any], number: int, processes: int) -> dict[str, Any]:
    rt, env, port, prefix = ctx["runtime"], ctx["env"], ctx["redis_port"], ctx["prefix"]
    recipients, batch, campaigns = ctx["recipients"], ctx["batch"], ctx["campaigns"]
    ids = [f"C20261201{number:02d}{k:04d}" for k in range(campaigns)]
    for k, agendamento_id in enumerate(ids):
        env_id = str(7000 + number * 100 + k)
        ctx["wordpress"].seed_campaign(agendamento_id, recipients // campaigns, env_id=env_id)
    before = redis_bytes(port, prefix)
    ingest = start_workers(env, 1, "dispatch-campaign")
    for agendamento_id in ids:
        await dispatch(rt, agendamento_id)
    await wait_all(rt, ids, {"PROCESSING", "QUEUED"})
    jobs = campaigns * -(-(recipients // campaigns) // batch)

    async def all_waiting() -> bool:
        counts = await rt.queues.queue(QueueName.CDA_SEND).getJobCounts("waiting")
        return bool(int(counts["waiting"]) >= jobs)

    await until(all_waiting, 0.05)
    waiting = redis_bytes(port, prefix)
    senders = start_workers(env, processes, "cda-send", "webhook-delivery", "maintenance")
    peaks = {"pg": 0, "redis": 0}

    async def first_request() -> bool:  # the workers' start-up is not counted
        return bool(len(ctx["cda"].requests) > ctx["requests_before"])

    await until(first_request, 0.01)
    started = time.monotonic()
    cpu_at_start = sum(cpu_seconds(process.pid) for process in senders)
    task = asyncio.create_task(wait_all(rt, ids, {"COMPLETED", "FAILED"}))
    while not task.done():
        for process in senders:
            pg, red = connections(process.pid, port)
            peaks["pg"], peaks["redis"] = max(peaks["pg"], pg), max(peaks["redis"], red)
        await asyncio.sleep(0.05)
    seconds = time.monotonic() - started
    cpu = sum(cpu_seconds(process.pid) for process in senders) - cpu_at_start
    stop(senders + ingest)
    after = redis_bytes(port, prefix)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": "sizing",
        "status": sorted(task.result()),
        "campaigns": campaigns,
        "recipients": recipients,
        "batch": batch,
        "worker_processes": processes,
        "concurrency_per_process": int(env["DISPARO_WORKER_CONCURRENCY"]),
        "seconds": round(seconds, 2),
        "recipients_per_s": round(recipients / seconds),
        "batches_per_s": round(jobs / seconds, 1),
        "worker_cpu_s": round(cpu, 2),
        "recipients_per_cpu_s": round(recipients / cpu),
        "pg_connections_peak_per_process": peaks["pg"],
        "redis_connections_peak_per_process": peaks["redis"],
        "cda_requests": len(ctx["cda"].requests) - ctx["requests_before"],
        "redis_waiting_jobs_bytes": waiting[1] - before[1],
        "redis_used_memory_delta_waiting": waiting[0] - before[0],
        "redis_bytes_per_waiting_job": round((waiting[1] - before[1]) / jobs),
        "redis_keys_after": after[2],
        "redis_bytes_after_completed": after[1],
    }


async def main(args: argparse.Namespace) -> None:
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-sizing-{os.getpid()}"
    workdir.mkdir(parents=True)
    redis_process, port = start_redis(workdir)
    prefix = "sizing"
    wordpress, cda = WordPressSimulator(master_key=KEY), CdaSimulator(api_key=CDA_KEY)
    wp_server, cda_server = await start_server(wordpress.app), await start_server(cda.app)
    wordpress.set_credentials("cda", {"api_url": cda_server.url + IMPORT_PATH, "api_key": CDA_KEY})
    try:
        async with scratch_database(args.database_url, "disparo_sizing") as database_url:
            values = {
                "database_url": database_url,
                "redis_url": f"redis://127.0.0.1:{port}/0",
                "queue_prefix": prefix,
                "api_keys": [SecretStr(KEY)],
                "wordpress_url": wp_server.url,
                "wordpress_api_key": SecretStr(KEY),
                "cda_batch_size": args.batch,
                "log_level": "WARNING",
            }
            settings = Settings.model_construct(**(Settings().model_dump() | values))
            await upgrade(settings.sqlalchemy_url)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
            env |= {f"DISPARO_{k.upper()}": str(v) for k, v in values.items() if k != "api_keys"}
            env |= {"DISPARO_API_KEYS": KEY, "DISPARO_WORDPRESS_API_KEY": KEY}
            env |= {"DISPARO_ENV": "development", "DISPARO_WORKER_CONCURRENCY": "4"}
            runtime = await open_runtime(settings)
            ctx = {"runtime": runtime, "env": env, "redis_port": port, "prefix": prefix,
                   "recipients": args.recipients, "batch": args.batch,
                   "campaigns": args.campaigns,
                   "wordpress": wordpress, "cda": cda}  # fmt: skip
            try:
                for number, processes in enumerate(args.workers, start=1):
                    ctx["requests_before"] = len(cda.requests)
                    result = await one_run(ctx, number, processes)
                    print(json.dumps(result))
                    with (HERE / "results.jsonl").open("a") as out:
                        out.write(json.dumps(result) + "\n")
            finally:
                await runtime.close()
    finally:
        await wp_server.stop()
        await cda_server.stop()
        redis_process.terminate()
        redis_process.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--campaigns", type=int, default=1, help="run at once, sharing it")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "DISPARO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    asyncio.run(main(parser.parse_args()))
