"""The image the deploy tests run, built once per session from the project's Dockerfile."""

from __future__ import annotations

import pytest

from tests.deploy.podman import IMAGE, build_image, image_size_mb, require_podman


@pytest.fixture(scope="session")
def disparo_image() -> str:
    require_podman()
    seconds = build_image()
    print(f"\nimage {IMAGE}: {image_size_mb():.0f} MB, base images + build took {seconds:.0f} s")
    return IMAGE
