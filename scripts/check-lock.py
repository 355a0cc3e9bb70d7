#!/usr/bin/env python3
"""Fail when pyproject.toml pins a package the lock files do not hold at that version.

The Makefile installs from the locks with --no-deps for the project itself, so a dependency
added to pyproject.toml but not locked would be silently missing; this says which one and
how to regenerate the locks instead.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?\s*==\s*([^\s;]+)")
LOCKED = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)", re.MULTILINE)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    return {normalise(name): version for name, version in LOCKED.findall(text)}


def pins(requirements: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        if match is None:
            sys.exit(f"check-lock: pyproject.toml pins exactly (name==version): {requirement!r}")
        found[normalise(match.group(1))] = match.group(3)
    return found


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = pins(project["dependencies"])
    dev = pins(project.get("optional-dependencies", {}).get("dev", []))
    wanted = [("requirements.lock", runtime), ("requirements-dev.lock", runtime | dev)]
    problems = []
    for lock_name, requirements in wanted:
        lock = locked(ROOT / lock_name)
        for name, version in sorted(requirements.items()):
            if lock.get(name) != version:
                have = lock.get(name, "nothing")
                problems.append(f"{lock_name}: {name}=={version} wanted, locked: {have}")
    for problem in problems:
        print(f"check-lock: {problem}", file=sys.stderr)
    if problems:
        print("check-lock: the locks are stale; regenerate them with `make lock`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
