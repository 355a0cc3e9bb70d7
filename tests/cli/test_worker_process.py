"""`disparo worker` as a real process: it serves, and a SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL

DISPARO = str(Path(sys.executable).with_name("disparo"))


def _env(tmp_path: Path, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DISPARO_DATABASE_URL": f"sqlite:///{tmp_path}/w.sqlite3",
        "DISPARO_REDIS_URL": REDIS_URL,
        "DISPARO_QUEUE_PREFIX": prefix,
        "DISPARO_LOG_FORMAT": "json",
    }


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_worker_stops_gracefully_on_signal(
    tmp_path: Path, redis_prefix: str, sig: signal.Signals
) -> None:
    env = _env(tmp_path, redis_prefix)
    subprocess.run([DISPARO, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    worker = subprocess.Popen(
        [DISPARO, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert worker.stdout is not None
        first = worker.stdout.readline().decode()
        assert '"worker.started"' in first, first
        time.sleep(1)
        started = time.monotonic()
        worker.send_signal(sig)
        output, _ = worker.communicate(timeout=20)
        assert worker.returncode == 0, output.decode()
        assert time.monotonic() - started < 15
        assert b'"worker.stopped"' in output
    finally:
        if worker.poll() is None:
            worker.kill()


def test_worker_rejects_an_unknown_queue(tmp_path: Path, redis_prefix: str) -> None:
    result = subprocess.run(
        [DISPARO, "worker", "--queue", "no-such-queue"],
        env=_env(tmp_path, redis_prefix),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"no-such-queue" in result.stderr
