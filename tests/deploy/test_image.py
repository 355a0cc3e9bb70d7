"""The image built from the Dockerfile: what runs in it, as whom, and what is left out."""

from __future__ import annotations

import json
import time
from typing import Any, cast

from tests.deploy.podman import PODMAN, image_size_mb, inspect_image, run, wait_until


def _config(image: str) -> dict[str, Any]:
    return cast(dict[str, Any], inspect_image(image)["Config"])


def test_image_runs_disparo_as_non_root_with_labels_and_health_check(disparo_image: str) -> None:
    size = image_size_mb(disparo_image)
    print(f"\nimage size: {size:.0f} MB")
    config = _config(disparo_image)
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["disparo"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    health = cast(dict[str, Any], inspect_image(disparo_image)["Healthcheck"])
    assert "/health" in " ".join(health["Test"])
    labels = config["Labels"]
    for label in ("title", "description", "version", "revision"):
        assert labels.get(f"org.opencontainers.image.{label}"), label
    names = [entry.split("=", 1)[0] for entry in config["Env"]]
    secretish = [n for n in names if any(w in n for w in ("KEY", "SECRET", "PASSWORD", "URL"))]
    assert secretish == [], f"the image carries settings that belong to the deployment: {secretish}"
    for command in ("serve", "worker", "migrate"):
        assert "Usage" in run([*PODMAN, "run", "--rm", disparo_image, command, "--help"])


def test_image_holds_no_tests_sources_or_build_tools(disparo_image: str) -> None:
    script = (
        "import importlib.util, json, os, pathlib, disparo;"
        "pkg = pathlib.Path(disparo.__file__).parent;"
        "print(json.dumps({"
        "'tests': sorted(str(p) for p in pkg.rglob('test*')),"
        "'pip': importlib.util.find_spec('pip') is not None,"
        "'setuptools': importlib.util.find_spec('setuptools') is not None,"
        "'src': [p for p in ('/src', '/tests', '/wordpress-plugin', '/bench')"
        " if os.path.exists(p)],"
        "'env_files': [str(p) for p in pathlib.Path('/').glob('*/.env')],"
        "}))"
    )
    found = json.loads(
        run([*PODMAN, "run", "--rm", "--entrypoint", "python", disparo_image, "-c", script])
    )
    assert found == {"tests": [], "pip": False, "setuptools": False, "src": [], "env_files": []}


def test_disparo_dev_runs_in_the_image(disparo_image: str) -> None:
    """The simulators `disparo dev` needs are in the image: the whole dev stack answers."""
    name = f"disparo-dev-test-{int(time.time())}"
    run(
        [
            *PODMAN,
            "run",
            "-d",
            "--rm",
            "--name",
            name,
            "-e",
            "DISPARO_ENV=development",
            disparo_image,
            "dev",
        ]
    )
    try:
        probe = [
            *PODMAN,
            "exec",
            name,
            "python",
            "-c",
            "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8081/_sim/webhooks').status,"
            " u.urlopen('http://127.0.0.1:8000/ready').status)",
        ]
        wait_until(
            "disparo dev answering", lambda: run(probe, check=False).strip() == "200 200", 60
        )
        # The image's own HEALTHCHECK, run by hand (no systemd here to time it).
        run([*PODMAN, "healthcheck", "run", name])
    finally:
        run([*PODMAN, "rm", "-f", "-t", "3", name], check=False)
