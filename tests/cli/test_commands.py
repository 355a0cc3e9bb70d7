"""The quick-start and operator commands, run as a user runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL

DISPARO = str(Path(sys.executable).with_name("disparo"))


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    return {**env, "DISPARO_ENV": "development", **values}


def test_demo_runs_a_campaign_to_completion_on_the_embedded_default(tmp_path: Path) -> None:
    """`make demo`: SQLite + embedded Redis + simulators, nothing configured."""
    env = _clean_env(DISPARO_DATA_DIR=str(tmp_path / "var"), COLUMNS="120")
    result = subprocess.run(
        [DISPARO, "demo", "--recipients", "300"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "COMPLETED" in result.stdout
    assert "processando, enviado" in result.stdout
    assert (tmp_path / "var" / "disparo.sqlite3").exists()


@pytest.mark.parametrize(
    ("provider", "second_step", "configured", "webhooks"),
    [
        ("GOSAC", "second step start: SENT", "GOSAC start 120 s", "processando, enviado"),
        ("NOAH", None, None, "processando, enviado"),
        (
            "SALESFORCE",
            "second step mkc: SENT",
            "Marketing Cloud 1200 s",
            "processando, enviado, mkc_executado",
        ),
    ],
)
def test_demo_of_the_other_providers_shows_their_second_steps(
    tmp_path: Path, provider: str, second_step: str | None, configured: str, webhooks: str
) -> None:
    env = _clean_env(DISPARO_DATA_DIR=str(tmp_path / "var"), COLUMNS="200")
    result = subprocess.run(
        [DISPARO, "demo", "--provider", provider, "--recipients", "250"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if second_step is None:  # no second step: no word about its delay either
        assert "second step" not in result.stdout
    else:
        assert "second steps run 3 s after the sends in this demo" in result.stdout
        assert f"(configured: {configured})" in result.stdout
        assert second_step in result.stdout
    assert webhooks in result.stdout


def test_demo_names_the_providers_it_can_simulate(tmp_path: Path) -> None:
    env = _clean_env(DISPARO_DATA_DIR=str(tmp_path / "var"))
    result = subprocess.run(
        [DISPARO, "demo", "--provider", "techia"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "no simulator for TECHIA" in output and "CDA" in output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_migrate_then_serve_answers_health_and_ready(tmp_path: Path, redis_prefix: str) -> None:
    env = _clean_env(
        DISPARO_DATABASE_URL=f"sqlite:///{tmp_path}/serve.sqlite3",
        DISPARO_REDIS_URL=REDIS_URL,
        DISPARO_QUEUE_PREFIX=redis_prefix,
        DISPARO_API_KEYS="k1,k2",
    )
    migrated = subprocess.run(
        [DISPARO, "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrated.returncode == 0 and "schema up to date" in migrated.stdout
    port = _free_port()
    server = subprocess.Popen(
        [DISPARO, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "disparo serve did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"{base}/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        listed = httpx.get(f"{base}/campaigns", headers={"X-API-KEY": "k2"})
        assert listed.status_code == 200 and listed.json()["total"] == 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_worker_says_what_it_cannot_reach_and_exits_1(tmp_path: Path) -> None:
    env = _clean_env(
        DISPARO_DATABASE_URL="postgresql://postgres:segredo@127.0.0.1:1/nowhere",
        DISPARO_REDIS_URL="redis://127.0.0.1:1/0",
        COLUMNS="200",
    )
    result = subprocess.run(
        [DISPARO, "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "o worker não pode começar" in result.stdout
    assert "banco de dados (postgresql+asyncpg://postgres:***@127.0.0.1:1/nowhere)" in result.stdout
    assert "Redis (redis://127.0.0.1:1/0)" in result.stdout
    assert "segredo" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_migrate_says_what_it_cannot_reach_and_exits_1() -> None:
    env = _clean_env(DISPARO_DATABASE_URL="postgresql://postgres@127.0.0.1:1/x", COLUMNS="200")
    result = subprocess.run(
        [DISPARO, "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "migrate falhou" in result.stdout and "127.0.0.1:1" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["check-config", "worker"])
def test_an_unknown_step_in_the_policies_is_one_clear_line(tmp_path: Path, command: str) -> None:
    env = _clean_env(
        DISPARO_DATA_DIR=str(tmp_path / "var"),
        DISPARO_PROVIDER_POLICIES='{"GOSAC:strat": {"max_attempts": 2}}',
        COLUMNS="200",
    )
    result = subprocess.run(
        [DISPARO, command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    expected = "  - provider_policies: unknown step 'GOSAC:strat'; known for GOSAC: GOSAC:start"
    assert expected in result.stdout.splitlines(), result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_an_unknown_provider_in_the_policies_is_one_clear_line(
    tmp_path: Path, command: str
) -> None:
    env = _clean_env(
        DISPARO_DATA_DIR=str(tmp_path / "var"),
        DISPARO_ENV="development",
        DISPARO_PROVIDER_POLICIES='{"XYZ": {"max_attempts": 2}}',
    )
    result = subprocess.run(
        [DISPARO, command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "configuração inválida" in result.stdout
    assert "unknown provider 'XYZ'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
