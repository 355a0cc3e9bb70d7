"""Delivery receipts at a fixed rate against one `disparo serve` process on loopback, on
PostgreSQL: every callback must be answered 200 and be in the database afterwards.

Makes a scratch database with one campaign of rate × seconds recipients, starts `disparo
serve` (one process), and fires one DELIVERED status callback per recipient (plus one reply
in `--reply-every`) at `--rate` per second, over keep-alive connections with a minimal HTTP
client (httpx would spend more CPU than the server on 2 cores). Latency is measured from
each callback's scheduled time, so a server falling behind shows in the p99 instead of
slowing the sender. Prints the achieved rate, p50/p99/max, the server's CPU per callback
(the figure that does not depend on what else the machine runs) and what landed, and
appends them to bench/results.jsonl.

    .venv/bin/python bench/callbacks.py [--rate 2000] [--seconds 5] [--connections 64]
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
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
from pydantic import SecretStr

from disparo.campaigns.callback_tokens import token_for
from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.migrations import upgrade

HERE = Path(__file__).parent
API_KEY = "bench-key"
SECRET = "bench-callback-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def phone(n: int) -> str:
    return f"5511{900000000 + n}"


async def seed(database_url: str, recipients: int) -> uuid.UUID:
    campaign_id = uuid.uuid4()
    connection = await asyncpg.connect(database_url)
    try:
        now = datetime.now(UTC)
        await connection.execute(
            "INSERT INTO campaigns (id, agendamento_id, provider, status, total_messages,"
            " sent_messages, failed_messages, skipped_messages, unknown_messages, created_at,"
            " updated_at) VALUES ($1, 'O20250115093000', 'RCS_OTIMA', 'COMPLETED', $2,"
            " $2, 0, 0, 0, $3, $3)",
            campaign_id,
            recipients,
            now,
        )
        await connection.copy_records_to_table(
            "campaign_messages",
            records=[(campaign_id, n, phone(n), "PENDING", 0, now) for n in range(recipients)],
            columns=["campaign_id", "row_index", "phone", "status", "attempts", "created_at"],
        )
    finally:
        await connection.close()
    return campaign_id


def start_api(port: int, database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DISPARO_DATABASE_URL": database_url,
        "DISPARO_REDIS_URL": redis_url,
        "DISPARO_QUEUE_PREFIX": f"bench{uuid.uuid4().hex[:6]}",
        "DISPARO_API_KEYS": API_KEY,
        "DISPARO_ENV": "development",
        "DISPARO_CALLBACK_SECRET": SECRET,
        "DISPARO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DISPARO_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "disparo", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if profile := os.environ.get("BENCH_PROFILE"):  # a cProfile dump of the server
        command[1:1] = ["-m", "cProfile", "-o", profile]
    return subprocess.Popen(command, env=env)


async def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError("disparo serve exited")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("disparo serve did not start")


def request_bytes(path: str, body: Mapping[str, object]) -> bytes:
    payload = orjson.dumps(body)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def fire(
    port: int, requests: list[bytes], rate: float, connections: int
) -> tuple[list[float], list[int], float]:
    """Each request at its slot (start + i / rate); a connection takes the next slot due."""
    latencies: list[float] = []
    statuses: list[int] = []
    next_index = 0
    start = time.perf_counter() + 0.2

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(requests):
                index = next_index
                next_index += 1
                slot = start + index / rate
                delay = slot - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(requests[index])
                statuses.append(await read_status(reader))
                latencies.append(time.perf_counter() - slot)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, time.perf_counter() - start


async def landed(database_url: str, campaign_id: uuid.UUID) -> tuple[int, int]:
    connection = await asyncpg.connect(database_url)
    try:
        delivered = await connection.fetchval(
            "SELECT count(*) FROM campaign_messages WHERE campaign_id = $1"
            " AND delivery_status = 'DELIVERED'",
            campaign_id,
        )
        replies = await connection.fetchval(
            "SELECT count(*) FROM campaign_replies WHERE campaign_id = $1", campaign_id
        )
    finally:
        await connection.close()
    return int(delivered), int(replies)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def callbacks_for(campaign_id: uuid.UUID, recipients: int, reply_every: int) -> list[bytes]:
    settings = Settings(api_keys=[SecretStr(API_KEY)], callback_secret=SecretStr(SECRET))
    base = f"/callbacks/otima/{token_for(settings, campaign_id)}"
    date = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    requests = []
    for n in range(recipients):
        body = {"phone": phone(n), "status": "DELIVERED", "date": date, "customer_code": "77"}
        requests.append(request_bytes(f"{base}/status", body))
        if reply_every and n % reply_every == 0:
            reply = {"phone": phone(n), "message": f"resposta {n}", "date": date}
            requests.append(request_bytes(f"{base}/mo", reply))
    return requests


async def run(args: argparse.Namespace) -> dict[str, object]:
    recipients = int(args.rate * args.seconds)
    async with scratch_database(args.database_url, "disparo_bench") as database_url:
        await upgrade(Settings(database_url=database_url).sqlalchemy_url)
        campaign_id = await seed(database_url, recipients)
        port = free_port()
        api = start_api(port, database_url, args.redis_url)
        try:
            await wait_listening(port, api)
            requests = callbacks_for(campaign_id, recipients, args.reply_every)
            cpu_before = cpu_seconds(api.pid)
            latencies, statuses, elapsed = await fire(port, requests, args.rate, args.connections)
            server_cpu = cpu_seconds(api.pid) - cpu_before
        finally:
            api.send_signal(signal.SIGINT)  # lets a profiled server write its dump
            api.wait(timeout=30)
        delivered, replies = await landed(database_url, campaign_id)
    expected_replies = len(requests) - recipients
    return {
        "bench": "callbacks",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target_rate": args.rate,
        "callbacks": len(requests),
        "achieved_rate": round(len(requests) / elapsed),
        "answered_200": statuses.count(200),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        # The server's CPU per callback, whatever else the machine runs: the rate one core
        # would sustain is 1000 / this.
        "server_cpu_ms_per_callback": round(server_cpu / len(requests) * 1000, 3),
        "load_average_1m": os.getloadavg()[0],
        "delivered_in_db": delivered,
        "replies_in_db": replies,
        "all_landed": delivered == recipients and replies == expected_replies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=5)
    # Each connection waits for its answer before its next callback (as a vendor's HTTP
    # client pool does), so the rate one connection carries is 1 / the round trip.
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--reply-every", type=int, default=10)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the benchmark creates and drops its own database",
    )  # fmt: skip
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    result = asyncio.run(run(parser.parse_args()))
    for key, value in result.items():
        print(f"{key:20} {value}")
    with (HERE / "results.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
