"""scripts/audit_verdict.py: what a pip-audit report proves. pip-audit exits 0 when no
vulnerability service answered; the verdict must not read that as a clean audit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.podman import ROOT

CLEAN = {"name": "jinja2", "version": "3.1.6", "vulns": []}
VULNERABLE = {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-h5c8-rqwp-cp95"}]}
NOT_AUDITED = {"name": "rich", "skip_reason": "Dependency not found on PyPI"}


def _verdict(tmp_path: Path, report: object) -> tuple[int, str]:
    path = tmp_path / "report.json"
    path.write_text(report if isinstance(report, str) else json.dumps(report))
    script = ROOT / "scripts/audit_verdict.py"
    done = subprocess.run(
        [sys.executable, str(script), "requirements.lock", "pypi", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout


@pytest.mark.parametrize(
    ("deps", "code", "says"),
    [
        ([CLEAN, NOT_AUDITED], 0, "1 packages audited with pypi, 0 vulnerable, 1 not audited"),
        ([CLEAN, VULNERABLE], 1, "VULNERABLE jinja2==3.1.2: GHSA-h5c8-rqwp-cp95"),
        ([NOT_AUDITED, NOT_AUDITED], 2, "answered for none of 2 packages"),
    ],
)
def test_the_verdict_names_what_was_audited(
    tmp_path: Path, deps: list[dict[str, object]], code: int, says: str
) -> None:
    assert _verdict(tmp_path, {"dependencies": deps}) == (code, _line(says, code))


def _line(says: str, code: int) -> str:
    if code == 1:
        tail = "requirements.lock: 2 packages audited with pypi, 1 vulnerable, 0 not audited"
        return f"audit-deps: {says}\naudit-deps: {tail}\n"
    if code == 2:
        return f"audit-deps: requirements.lock: the pypi service {says}\n"
    return f"audit-deps: requirements.lock: {says}\n"


def test_no_report_means_the_service_was_not_reached(tmp_path: Path) -> None:
    code, out = _verdict(tmp_path, "")
    assert (code, out) == (
        2,
        "audit-deps: requirements.lock: the pypi service could not be reached\n",
    )
