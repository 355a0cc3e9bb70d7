"""deploy/prometheus/alerts.yml: valid for Prometheus (`promtool check rules`), behaving as
alerts.test.yml says (`promtool test rules`), and built only on metrics disparo exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.conftest import API_KEY, StackFactory

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool(*args: str) -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/install-ops-tools.sh installs it"
    done = subprocess.run(
        [promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_alert_rules_are_valid() -> None:
    assert "SUCCESS: 6 rules found" in _promtool("check", "rules", "alerts.yml")


def test_the_alert_rules_pass_their_unit_tests() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "alerts.test.yml")


async def test_the_alert_rules_use_only_metrics_we_export(stack_factory: StackFactory) -> None:
    rules = (PROMETHEUS / "alerts.yml").read_text()
    used = set(re.findall(r"\b(disparo_[a-z_]*[a-z])\b", rules))
    stack = await stack_factory(with_worker=False)
    async with httpx.AsyncClient(base_url=stack.api.url) as client:
        text = (await client.get("/metrics", headers={"X-API-KEY": API_KEY})).text
    exported = set(re.findall(r"^# TYPE (disparo_\w+)", text, re.M))
    exported |= {f"{name}_total" for name in exported}  # counters are sampled as *_total
    assert {"disparo_queue_workers", "disparo_dead_letters"} <= used
    assert used <= exported, used - exported
