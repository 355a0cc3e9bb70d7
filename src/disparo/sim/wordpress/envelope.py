"""WordPress's REST answers: its error envelope (CONTRACTS 2.0), its JSON content type, and
the routes the simulator serves (and can fail on demand)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson
from fastapi import Response

JSON = "application/json; charset=UTF-8"

Route = Literal["data", "credentials", "webhook"]
ROUTES: tuple[Route, ...] = ("data", "credentials", "webhook")


def wp_error(code: str, message: str, status: int, /, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **data}}


def wp_json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)
