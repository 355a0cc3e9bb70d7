"""What the RCS simulators share: recording every request and injecting faults (5xx, 429
with Retry-After, slow answers that outlast a client's timeout)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request, Response

from disparo.providers.cda.simulator import RecordedRequest

__all__ = ["FaultPlan", "RecordedRequest", "json_response", "record"]


@dataclass
class _Fault:
    status: int
    body: Any
    retry_after: int | None


class FaultPlan:
    """Faults queued for the next requests, taken one per request in arrival order."""

    def __init__(self) -> None:
        # None: answer that request normally (a fault planned for a later request).
        self._faults: deque[_Fault | None] = deque()
        self._delays: deque[float] = deque()

    def fail_next(
        self,
        status: int,
        count: int = 1,
        body: Any = None,
        retry_after: int | None = None,
        *,
        after: int = 0,
    ) -> None:
        """After `after` normal answers, the next `count` requests answer `status` (after
        any delay), doing nothing."""
        self._faults.extend([None] * after)
        self._faults.extend(_Fault(status, body, retry_after) for _ in range(count))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        """The next `count` requests sleep `seconds` first (a client timeout shorter than
        that sees a timeout; the request is still handled, as a real server would)."""
        self._delays.extend([seconds] * count)

    async def wait(self) -> None:
        if self._delays:
            await asyncio.sleep(self._delays.popleft())

    def take(self, default_body: Any) -> Response | None:
        """The injected answer for this request, or None to answer normally."""
        if not self._faults:
            return None
        fault = self._faults.popleft()
        if fault is None:
            return None
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        body = default_body if fault.body is None else fault.body
        return json_response(fault.status, body, headers)


async def record(request: Request, log: list[RecordedRequest]) -> RecordedRequest:
    raw = await request.body()
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    recorded = RecordedRequest(
        request.method, request.url.path, dict(request.headers), body, datetime.now(UTC)
    )
    log.append(recorded)
    return recorded


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )
