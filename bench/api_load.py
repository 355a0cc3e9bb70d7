"""The API under fixed arrival rates (an open loop: requests leave on schedule whether or not
earlier ones were answered, so a slow server is not hidden by a client that waits for it).

A scratch PostgreSQL database and `disparo serve --workers N` as a subprocess (no job
workers: dispatches are created and queued, nothing is sent). Half the requests are new
dispatches (`POST /campaigns/dispatch`), half are status reads of campaigns made in the
warm-up. Phases:

1. steady: `--rate` requests/s for `--seconds` (the issue's 500/s for 30 s);
2. overload: `--overload-rate` requests/s for `--overload-seconds` (5× capacity for 60 s);
3. recovery: status probes at 20/s until a second's p99 is within 2× the steady p50 (or
   50 ms) and the server's CPU is below 10% of a core; the time that took;
4. SIGTERM: the time until every serve process has exited.

Latency is measured from each request's scheduled departure, so queuing in the client counts.
503s with Retry-After (load shed) are counted apart from errors. The load generator is one
Python process on the same 2 cores, speaking HTTP/1.1 over keep-alive sockets itself (httpx
costs ~1 ms of CPU per request, which at these rates would measure the client); `sent_late`
counts requests it could not send on time.

    .venv/bin/python bench/api_load.py [--workers 2] [--rate 500] [--seconds 30]
                                       [--overload-rate 2500] [--overload-seconds 60]
                                       [--ramp 100,200,400,800]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.migrations import upgrade

HERE = Path(__file__).parent
KEY = "bench-api-load-key-0123456789abcdef012345"
DISPARO = str(Path(sys.executable).with_name("disparo"))
PG_ADMIN = os.environ.get("DISPARO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DISPARO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

Answer = tuple[int, bool]  # status, whether it carried Retry-After
Request = Callable[["RawClient", int], Awaitable[Answer]]


class RawClient:
    """A minimal HTTP/1.1 client on keep-alive sockets, for JSON requests to one server."""

    def __init__(self, port: int, max_connections: int = 2000) -> None:
        self._port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._connections = asyncio.Semaphore(max_connections)

    async def get(self, path: str) -> Answer:
        return await self._request(f"GET {path} HTTP/1.1\r\n".encode(), b"")

    async def post(self, path: str, body: dict[str, Any]) -> Answer:
        return await self._request(f"POST {path} HTTP/1.1\r\n".encode(), json.dumps(body).encode())

    async def _request(self, line: bytes, body: bytes) -> Answer:
        head = (
            line
            + (
                f"Host: 127.0.0.1\r\nX-API-KEY: {KEY}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        async with self._connections:
            if self._idle:
                try:
                    return await self._exchange(self._idle.pop(), head + body)
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass  # the server closed it while idle (its keep-alive timeout): anew
            return await self._exchange(await self._connect(), head + body)

    async def _exchange(
        self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> Answer:
        reader, writer = connection
        try:
            async with asyncio.timeout(30):
                writer.write(request)
                answer = await _read_answer(reader)
        except BaseException:
            writer.close()
            raise
        self._idle.append(connection)
        return answer

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self._port)

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    status = int(head[9:12])
    start = head.find(b"content-length:")
    length = int(head[start + 15 : head.find(b"\r\n", start)]) if start >= 0 else 0
    await reader.readexactly(length)
    return status, b"retry-after:" in head


@dataclass
class Phase:
    name: str
    rate: float
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    shed: int = 0
    errors: int = 0
    late: int = 0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "requests": self.ok + self.shed + self.errors,
            "ok": self.ok,
            "shed_503": self.shed,
            "errors": self.errors,
            "sent_late": self.late,
            "p50_ms": round(self.percentile(0.50), 2),
            "p95_ms": round(self.percentile(0.95), 2),
            "p99_ms": round(self.percentile(0.99), 2),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(database_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DISPARO_ENV": "development",
        "DISPARO_DATABASE_URL": database_url,
        "DISPARO_REDIS_URL": REDIS_URL,
        "DISPARO_QUEUE_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
        "DISPARO_API_KEYS": KEY,
        "DISPARO_WORDPRESS_URL": "http://127.0.0.1:9",  # never called: no job workers
        "DISPARO_LOG_LEVEL": "WARNING",
    }
    args = [DISPARO, "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen([*args, "--workers", str(workers)], env=env)


async def wait_ready(client: RawClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/ready"))[0] == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("disparo serve did not become ready")


def mixed(run: str, known: list[str]) -> Request:
    def request(client: RawClient, i: int) -> Awaitable[Answer]:
        if i % 2:
            return client.get(f"/campaigns/{known[i % len(known)]}/status")
        return client.post("/campaigns/dispatch", {"agendamento_id": f"C{run}{i:09d}"})

    return request


async def open_loop(client: RawClient, phase: Phase, seconds: float, request: Request) -> Phase:
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(int(phase.rate * seconds)):
        due = start + i / phase.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.01:
            phase.late += 1
        tasks.append(asyncio.create_task(_one(client, phase, request(client, i), due)))
    await asyncio.gather(*tasks)
    return phase


async def _one(client: RawClient, phase: Phase, call: Awaitable[Answer], due: float) -> None:
    try:
        status, retry_after = await call
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        phase.errors += 1
        return
    elapsed = asyncio.get_running_loop().time() - due
    if status == 503 and retry_after:
        phase.shed += 1
    elif status < 500:
        phase.ok += 1
        phase.latencies.append(elapsed)
    else:
        phase.errors += 1


def server_cpu(processes: list[psutil.Process], seconds: float = 1.0) -> float:
    """CPU of the serve processes over `seconds`, in % of one core."""
    before = sum(_cpu(p) for p in processes)
    time.sleep(seconds)
    return (sum(_cpu(p) for p in processes) - before) / seconds * 100


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


async def recovery(
    client: RawClient, known: list[str], target_ms: float, tree: list[psutil.Process]
) -> float:
    """Seconds from the end of the overload until latency and CPU are back to normal."""
    started = time.monotonic()
    while time.monotonic() - started < 600:
        probe = await open_loop(client, Phase("probe", 20), 1.0, mixed("R", known))
        cpu = await asyncio.to_thread(server_cpu, tree, 0.5)
        quiet = probe.errors == 0 and probe.shed == 0 and cpu < 10
        if quiet and probe.percentile(0.99) <= target_ms:
            return round(time.monotonic() - started, 2)
    return float("inf")


def sigterm_exit_seconds(server: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        return float("inf")
    return round(time.monotonic() - started, 2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with scratch_database(PG_ADMIN, "disparo_bench_api") as database_url:
        await upgrade(Settings(database_url=database_url).sqlalchemy_url)
        port = free_port()
        server = serve(database_url, port, args.workers)
        client = RawClient(port)
        try:
            await wait_ready(client)
            measured = await measure(client, args, server.pid)
        finally:
            client.close()
            exit_seconds = sigterm_exit_seconds(server)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bench": "api_load",
        "serve_workers": args.workers,
        **measured,
        "sigterm_exit_s": exit_seconds,
    }


async def measure(client: RawClient, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    known = [f"CW{i:06d}" for i in range(200)]
    for name in known:
        await client.post("/campaigns/dispatch", {"agendamento_id": name})
    await open_loop(client, Phase("warmup", 50), 3, mixed("W", known))
    phases = {}
    for rate in args.ramp:
        ramp = await open_loop(client, Phase(f"ramp{rate:g}", rate), 10, mixed(f"A{rate:g}", known))
        phases[ramp.name] = ramp.summary()
    steady = await open_loop(client, Phase("steady", args.rate), args.seconds, mixed("S", known))
    phases["steady"] = steady.summary()
    overload = Phase("overload", args.overload_rate)
    await open_loop(client, overload, args.overload_seconds, mixed("O", known))
    phases["overload"] = overload.summary()
    target = max(50.0, 2 * steady.percentile(0.5))
    return {"phases": phases, "recovery_s": await recovery(client, known, target, tree)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--overload-rate", type=float, default=2500)
    parser.add_argument("--overload-seconds", type=float, default=60)
    parser.add_argument(
        "--ramp", type=lambda text: [float(r) for r in text.split(",") if r], default=[]
    )
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))
    with (HERE / "results.jsonl").open("a") as results:
        results.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
