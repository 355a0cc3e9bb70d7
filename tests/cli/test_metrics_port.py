"""DISPARO_METRICS_PORT on real processes: `disparo worker` serves its own counters there,
without a key, and `disparo serve` the whole set."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.test_worker_process import DISPARO, _env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            assert answer.status_code == 200
            return answer.text
        except httpx.TransportError:
            assert process.poll() is None, "the process ended"
            assert time.monotonic() < deadline, "no metrics port within 30 s"
            time.sleep(0.2)


def test_worker_and_serve_answer_on_the_metrics_port(tmp_path: Path, redis_prefix: str) -> None:
    env = _env(tmp_path, redis_prefix) | {"DISPARO_API_KEYS": "k1"}
    subprocess.run([DISPARO, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    worker_port, api_port, serve_port = _free_port(), _free_port(), _free_port()
    worker = subprocess.Popen(
        [DISPARO, "worker"],
        env=env | {"DISPARO_METRICS_PORT": str(worker_port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = subprocess.Popen(
        [DISPARO, "serve", "--port", str(api_port)],
        env=env | {"DISPARO_METRICS_PORT": str(serve_port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from_worker = _scrape(worker_port, worker)
        assert "disparo_provider_requests" in from_worker
        assert "disparo_queue_jobs" not in from_worker  # the state is the API's to report
        from_api = _scrape(serve_port, api)
        assert 'disparo_queue_jobs{queue="cda-send",state="waiting"} 0.0' in from_api
    finally:
        for process in (worker, api):
            process.terminate()
            process.wait(timeout=30)
