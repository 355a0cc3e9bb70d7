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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_api_keeps_every_promise_of_its_schema(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    # A fuzzer sends thousands of wrong keys on purpose: no throttling for this client.
    stack = await stack_factory(with_worker=False, auth_failure_limit=1_000_000)
    command = [
        SCHEMATHESIS,
        "run",
        f"{stack.api.url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--header",
        f"X-API-KEY: {API_KEY}",
        "--max-examples",
        "40",
        "--max-time",
        "75",
        "--workers",
        "1",
        "--seed",
        "1",
        "--continue-on-failure",
        "--suppress-health-check",
        "too_slow",
        "--report-dir",
        str(tmp_path),
    ]
    print(" ".join(command))
    run = await _run(command, tmp_path)
    assert run.returncode == 0, run.stdout[-20_000:]
    # Every phase ran (the stateful one follows the schema's links from a dispatch).
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in run.stdout, run.stdout[-20_000:]
    assert "Operations:       20 selected / 20 total" in run.stdout
    # ...and followed every link: dispatch, then status, messages and each control on the
    # campaign it created.
    assert "API Links:    7 covered / 7 selected / 7 total" in run.stdout, run.stdout[-20_000:]
    print(run.stdout[run.stdout.find("Test Phases:") :])  # the summary, for `pytest -s`


async def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    import asyncio

    # The server runs on this test's event loop: run the fuzzer in a thread beside it.
    return await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
