"""All cores of a host: `disparo serve --workers N` and `disparo worker --processes N` as real
processes; SIGTERM lets the API finish a request in flight; the worker pool replaces a child
that dies and drains every child on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL

DISPARO = str(Path(sys.executable).with_name("disparo"))
API_KEY = "chave-de-teste-dos-processos-0123456789"


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    return env | {
        "DISPARO_ENV": "development",
        "DISPARO_DATABASE_URL": f"sqlite:///{tmp_path}/procs.sqlite3",
        "DISPARO_REDIS_URL": REDIS_URL,
        "DISPARO_QUEUE_PREFIX": prefix,
        "DISPARO_API_KEYS": API_KEY,
        "DISPARO_LOG_FORMAT": "json",
        **extra,
    }


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.1)


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            process = subprocess.Popen([DISPARO, *args], env=env, stdout=out, stderr=out)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            for child in _children(process.pid):
                os.kill(child, signal.SIGKILL)
            process.kill()
            process.wait(10)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _read_answer(client: socket.socket) -> str:
    received = b""
    while b"C20250115093000" not in received:
        chunk = client.recv(65536)
        if not chunk:
            break
        received += chunk
    return received.decode()


def test_serve_workers_runs_n_processes_and_sigterm_finishes_the_request_in_flight(
    tmp_path: Path, redis_prefix: str, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    env = _env(tmp_path, redis_prefix)
    subprocess.run([DISPARO, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    port = _free_port()
    args = ["serve", "--port", str(port), "--workers", "2", "--graceful-timeout", "20"]
    api = spawn(args, env, tmp_path / "api.log")
    _until(lambda: _answers(port), 120, "the API answers")
    servers = [pid for pid in _children(api.pid) if "spawn" in " ".join(_cmdline(pid))]
    assert len(servers) == 2, [_cmdline(pid) for pid in _children(api.pid)]

    body = b'{"agendamento_id": "C20250115093000"}'
    head = (
        f"POST /campaigns/dispatch HTTP/1.1\r\nHost: x\r\nX-API-KEY: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        # The request has begun (headers and half its body are in): it is in flight.
        client.sendall(head + body[:10])
        time.sleep(0.5)
        api.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert api.poll() is None, "the API left before its request in flight was done"
        client.sendall(body[10:])
        answer = _read_answer(client)
    assert answer.startswith("HTTP/1.1 202"), answer
    assert "C20250115093000" in answer
    assert api.wait(30) == 0
    assert not _answers(port)


def test_serve_workers_refuses_a_metrics_port_only_one_process_could_bind(
    tmp_path: Path, redis_prefix: str
) -> None:
    env = _env(tmp_path, redis_prefix, DISPARO_METRICS_PORT="9464")
    done = subprocess.run(
        [DISPARO, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "DISPARO_METRICS_PORT=9464" in done.stderr and "/metrics" in done.stderr


def _two_free_ports() -> int:
    while True:
        first = _free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", first + 1))
            except OSError:
                continue
        return first


def _scrapes(port: int) -> bool:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    except httpx.TransportError:
        return False
    return answer.status_code == 200 and "disparo_provider_requests" in answer.text


def _started(log: Path) -> int:
    return log.read_bytes().count(b'"worker.started"')


def test_worker_processes_share_nothing_replace_a_dead_child_and_drain_on_sigterm(
    tmp_path: Path, redis_prefix: str, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    metrics = _two_free_ports()
    env = _env(tmp_path, redis_prefix, DISPARO_METRICS_PORT=str(metrics))
    subprocess.run([DISPARO, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    log = tmp_path / "pool.log"
    queues = ["-q", "cda-send", "-q", "webhook-delivery"]
    pool = spawn(["worker", "--processes", "2", *queues], env, log)
    _until(lambda: _started(log) == 2, 60, "two workers started")
    children = _children(pool.pid)
    assert len(children) == 2
    assert all("--queue=cda-send" in _cmdline(pid) for pid in children)

    # Each child its own metrics port: the first, then the next.
    _until(lambda: _scrapes(metrics) and _scrapes(metrics + 1), 60, "metrics on both ports")

    os.kill(children[0], signal.SIGKILL)  # a crash: the pool starts another in its place
    _until(lambda: _started(log) == 3, 60, "a replacement worker started")
    survivors = _children(pool.pid)
    assert len(survivors) == 2 and children[1] in survivors and children[0] not in survivors

    pool.send_signal(signal.SIGTERM)
    assert pool.wait(30) == 0
    text = log.read_text()
    assert text.count('"worker.stopped"') == 2, text
    assert not any(_alive(pid) for pid in survivors)
