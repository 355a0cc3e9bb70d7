#!/usr/bin/env python3
"""Reads one pip-audit JSON report and says what it proves (used by scripts/audit-deps.sh).

Exit 0: packages were audited and none is vulnerable; 1: a known vulnerability (named);
2: nothing could be audited (no report, or every package "not audited": pip-audit exits 0
then, which must not pass for a clean audit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def verdict(lock: str, service: str, report: Path) -> tuple[int, list[str]]:
    try:
        deps: list[dict[str, Any]] = json.loads(report.read_text())["dependencies"]
    except (OSError, ValueError, KeyError, TypeError):
        return 2, [f"{lock}: the {service} service could not be reached"]
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines = [
        f"VULNERABLE {d['name']}=={d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
        for d in vulnerable
    ]
    if not audited:
        return 2, [f"{lock}: the {service} service answered for none of {len(deps)} packages"]
    skipped = len(deps) - len(audited)
    lines.append(
        f"{lock}: {len(audited)} packages audited with {service}, "
        f"{len(vulnerable)} vulnerable, {skipped} not audited"
    )
    return (1 if vulnerable else 0), lines


def main(argv: list[str]) -> int:
    lock, service, report = argv
    code, lines = verdict(lock, service, Path(report))
    for line in lines:
        print(f"audit-deps: {line}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
