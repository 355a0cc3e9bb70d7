"""podman and podman-compose for the deploy tests: the project's own scripts build the
images, and every container, volume and network a test made is removed by its label."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PODMAN = ["podman", "--runtime", "/usr/sbin/runc"]
COMPOSE_BIN = Path(sys.executable).parent / "podman-compose"
IMAGE = "localhost/disparo:test"


def run(args: Sequence[str], *, timeout: float = 600, check: bool = True, **kw: object) -> str:
    """Run a command; on failure the error carries its output (what a CI log needs)."""
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, check=False, **kw
    )  # type: ignore[call-overload]
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return str(done.stdout)


def require_podman() -> None:
    """Skip, loudly, only where podman cannot run containers at all."""
    why = ""
    if shutil.which("podman") is None:
        why = "podman is not installed"
    elif os.geteuid() != 0:
        why = "not root (the deploy tests run rootful podman)"
    elif not COMPOSE_BIN.exists():
        why = f"{COMPOSE_BIN} missing (make .venv/.installed)"
    else:
        probe = subprocess.run([*PODMAN, "info"], capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            why = f"`podman info` fails: {probe.stderr.strip()[:300]}"
    if why:
        banner = f"PODMAN CANNOT RUN HERE, THE IMAGE AND COMPOSE TESTS DID NOT RUN: {why}"
        print(f"\n{'*' * 20}\n{banner}\n{'*' * 20}", file=sys.stderr)
        pytest.skip(banner)


def build_image() -> float:
    """The base images and disparo's image, with the project's scripts; seconds taken."""
    started = time.monotonic()
    env = {**os.environ, "DISPARO_IMAGE": IMAGE}
    run([str(ROOT / "scripts/build-image.sh")], env=env, timeout=1800)
    return time.monotonic() - started


def image_size_mb(image: str = IMAGE) -> float:
    size = run([*PODMAN, "image", "inspect", "--format", "{{.Size}}", image]).strip()
    return int(size) / 1e6


def inspect_image(image: str = IMAGE) -> dict[str, object]:
    data: list[dict[str, object]] = json.loads(run([*PODMAN, "image", "inspect", image]))
    return data[0]


@dataclass
class Compose:
    """podman-compose on deploy/compose.yaml (+ extra files), as one project."""

    project: str
    env: dict[str, str]
    files: list[Path] = field(default_factory=list)

    def __call__(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        command = [str(COMPOSE_BIN), "-p", self.project]
        for path in [ROOT / "deploy/compose.yaml", *self.files]:
            command += ["-f", str(path)]
        env = {**os.environ, **self.env}
        return run([*command, *args], env=env, timeout=timeout, check=check)

    def containers(self, service: str) -> list[str]:
        out = run(
            [
                *PODMAN,
                "ps",
                "--filter",
                f"label=io.podman.compose.project={self.project}",
                "--filter",
                f"label=io.podman.compose.service={service}",
                "--format",
                "{{.Names}}",
            ]
        )
        return sorted(out.split())

    def host_port(self, container: str, port: int) -> int:
        out = run([*PODMAN, "port", container, str(port)]).strip().splitlines()[0]
        return int(out.rsplit(":", 1)[1])

    def remove_everything(self) -> None:
        """`down -v`, then whatever it left (it only knows the replicas of its own --scale)."""
        label = f"label=io.podman.compose.project={self.project}"
        self("down", "-v", "-t", "5", check=False, timeout=300)
        for _ in range(3):  # dependents first: podman refuses to remove a required container
            ids = run([*PODMAN, "ps", "-aq", "--filter", label], check=False).split()
            if not ids:
                break
            run([*PODMAN, "rm", "-f", "-t", "5", *ids], check=False)
        volumes = run([*PODMAN, "volume", "ls", "-q", "--filter", label], check=False).split()
        if volumes:
            run([*PODMAN, "volume", "rm", "-f", *volumes], check=False)
        run([*PODMAN, "network", "rm", "-f", f"{self.project}_default"], check=False)


def healthy(container: str) -> bool:
    """The container's own HEALTHCHECK, run now (podman schedules it with systemd timers,
    which hosts without systemd do not have)."""
    probe = [*PODMAN, "healthcheck", "run", container]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def wait_until(what: str, check: Callable[[], bool], timeout: float, step: float = 0.5) -> float:
    """Poll ``check`` until true; seconds waited. Fails naming ``what`` after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not true after {timeout:.0f} s")
        time.sleep(step)
    return time.monotonic() - started
