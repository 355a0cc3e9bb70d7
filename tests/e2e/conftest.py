"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.wordpress_site import WordPressSite, start_wordpress


@pytest.fixture
def wordpress(tmp_path: Path) -> Iterator[WordPressSite]:
    """A real WordPress with the plugin active (see wordpress_site.py)."""
    site = start_wordpress(tmp_path / "wordpress")
    try:
        yield site
    finally:
        site.stop()
