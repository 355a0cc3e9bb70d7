"""Every command that reads the database says, in one line, that it cannot reach it: no
traceback, no password, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DISPARO = str(Path(sys.executable).with_name("disparo"))
UNREACHABLE = "postgresql://postgres:segredo@127.0.0.1:1/nowhere"

COMMANDS = [
    ["status", "C20250115093000"],
    ["status", "C20250115093000", "--follow"],
    ["campaigns"],
    ["campaign", "pause", "C20250115093000"],
    ["campaign", "resume", "C20250115093000"],
    ["campaign", "cancel", "C20250115093000"],
    ["campaign", "retry-failed", "C20250115093000"],
    ["campaign", "retry-unknown", "C20250115093000"],
    ["retry-unknown", "C20250115093000"],
    ["dlq", "list"],
    ["dlq", "redrive", "1"],
    ["dlq", "redrive", "--all", "--yes"],
    ["webhooks", "list"],
    ["webhooks", "replay", "1"],
    ["migrate"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_clear_line(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    env |= {
        "DISPARO_DATABASE_URL": UNREACHABLE,
        "DISPARO_REDIS_URL": "redis://127.0.0.1:1/0",
        "DISPARO_DATA_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [DISPARO, *command], env=env, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "segredo" not in output
    assert "127.0.0.1:1/nowhere" in output, output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) <= 2, output  # the line, and at most its wrapped continuation
