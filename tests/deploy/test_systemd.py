"""deploy/systemd/: every unit passes `systemd-analyze verify` with no warning, and the
worker unit gives a drain the time a send may take."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from disparo.config import Settings

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/disparo/venv/bin/disparo"  # where the units expect the release


def _verify(directory: Path, *units: str) -> str:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: scripts/install-ops-tools.sh installs it"
    done = subprocess.run(
        [analyze, "verify", *(f"./{unit}" for unit in units)],
        cwd=directory,
        env={"SYSTEMD_UNIT_PATH": f"{directory}:", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return f"rc={done.returncode} {done.stdout}{done.stderr}".strip()


def _installed_copy(tmp_path: Path) -> Path:
    """The units as a host would have them, with the release where this test runs from:
    verify checks that ExecStart's program exists."""
    here = str(Path(sys.executable).with_name("disparo"))
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, here))
    return tmp_path


def test_the_units_verify_without_a_warning(tmp_path: Path) -> None:
    units = _installed_copy(tmp_path)
    names = [*sorted(p.name for p in UNITS.glob("*.service")), "disparo.target"]
    assert {"disparo-api.service", "disparo-migrate.service", "disparo-worker@.service"} <= set(
        names
    )
    # The template as an instance, one per core: disparo-worker@1.service, @2...
    shutil.copy(units / "disparo-worker@.service", units / "disparo-worker@1.service")
    assert _verify(units, *names, "disparo-worker@1.service") == "rc=0"


def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    units = _installed_copy(tmp_path)
    api = units / "disparo-api.service"
    api.write_text(api.read_text().replace("KillMode=mixed", "KillMode=mixd"))
    assert "Failed to parse kill mode" in _verify(units, api.name)


def _seconds(unit: str, key: str) -> float:
    match = re.search(rf"^{key}=(\d+)$", (UNITS / unit).read_text(), re.M)
    assert match, f"{unit} has no {key}"
    return float(match.group(1))


def test_systemd_waits_for_a_drain_before_it_kills() -> None:
    defaults = Settings.model_construct()
    longest_send = defaults.rate_limit_max_wait + defaults.send_deadline
    assert _seconds("disparo-worker@.service", "TimeoutStopSec") > longest_send
    api = (UNITS / "disparo-api.service").read_text()
    graceful = re.search(r"--graceful-timeout (\d+)", api)
    assert graceful
    assert _seconds("disparo-api.service", "TimeoutStopSec") > float(graceful.group(1))


def test_the_env_example_sets_what_the_api_command_line_uses() -> None:
    api = (UNITS / "disparo-api.service").read_text()
    example = (UNITS / "disparo.env.example").read_text()
    for name in re.findall(r"\$\{(\w+)\}", api):
        assert re.search(rf"^{name}=\S", example, re.M), name
