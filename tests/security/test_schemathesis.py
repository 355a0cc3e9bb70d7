"""Property-based testing of the API from its own OpenAPI document: schemathesis with every
check and every phase (examples, coverage, fuzzing, stateful), against the real app on
loopback. Any check failing fails the test; the run is bounded in examples and time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import API_KEY, StackFactory

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_api_keeps_every_promise_of_its_schema(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    # A fuzzer sends thousands of wrong keys on purpose: no throttling for this client.
    stack = await stack_factory(with_worker=False, auth_failure_limit=1_000_000)
    # Every operation through examples, coverage and fuzzing; then the stateful phase alone
    # on the campaign routes, whose links it must all follow (with every route in one run,
    # its budget spread over 26 operations followed 2 of the campaign's links).
    every = await _run(_command(stack.api.url, tmp_path / "every", "examples,coverage,fuzzing", 60))
    assert every.returncode == 0, every.stdout[-20_000:]
    for phase in ("Coverage", "Fuzzing"):
        assert f"✅  {phase}" in every.stdout, every.stdout[-20_000:]
    assert "Operations:       26 selected / 26 total" in every.stdout
    campaigns = _command(stack.api.url, tmp_path / "stateful", "stateful", 45)
    stateful = await _run([*campaigns, "--include-path-regex", "^/campaigns"])
    assert stateful.returncode == 0, stateful.stdout[-20_000:]
    assert "✅  Stateful" in stateful.stdout, stateful.stdout[-20_000:]
    # ...and followed every link: dispatch, then status, messages and each control on the
    # campaign it created.
    assert "API Links:    7 covered / 7 selected / 7 total" in stateful.stdout, stateful.stdout[
        -20_000:
    ]
    print(stateful.stdout[stateful.stdout.find("Test Phases:") :])  # for `pytest -s`


def _command(url: str, reports: Path, phases: str, seconds: int) -> list[str]:
    reports.mkdir(parents=True, exist_ok=True)
    return [
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        phases,
        "--header",
        f"X-API-KEY: {API_KEY}",
        "--max-examples",
        "40",
        "--max-time",
        str(seconds),
        "--workers",
        "1",
        "--seed",
        "1",
        "--continue-on-failure",
        "--suppress-health-check",
        "too_slow",
        "--report-dir",
        str(reports),
    ]


async def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    import asyncio

    # The server runs on this test's event loop: run the fuzzer in a thread beside it.
    return await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
