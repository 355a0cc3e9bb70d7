"""Reading JSON we did not write (provider answers, WordPress answers, simulator requests)."""

from __future__ import annotations

from typing import Any

import orjson


def json_or_none(data: bytes | str | None) -> Any:
    """The parsed JSON value, or None when `data` is empty or not JSON: callers then check
    the shape they need, so a body nobody promised cannot break them."""
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
