"""The one fault kit of every simulator (the providers' and WordPress's): faults queued per
route (an HTTP status with its headers, e.g. Retry-After, or a slow answer that outlasts a
client's timeout), and, for provider simulators, every request recorded."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Request, Response

from disparo.parsing import json_or_none

JSON_TYPE = "application/json"
ANY_ROUTE = "*"


@dataclass
class RecordedRequest:
    route: str
    method: str
    path: str
    headers: dict[str, str]
    json: Any  # None when the body was not valid JSON
    form: dict[str, str]  # form-encoded bodies (OAuth token requests)
    received_at: datetime
    response_status: int = 0
    response_body: Any = None


@dataclass
class Fault:
    status: int
    body: Any
    headers: dict[str, str]


class FaultPlan:
    """Faults and delays queued per route; one queued for ANY_ROUTE hits whichever route is
    asked next that has none of its own."""

    def __init__(self) -> None:
        # None: answer that request normally (a fault planned for a later request).
        self._faults: defaultdict[str, deque[Fault | None]] = defaultdict(deque)
        self._delays: defaultdict[str, deque[float]] = defaultdict(deque)

    def fail(self, route: str, fault: Fault, count: int = 1, *, after: int = 0) -> None:
        self._faults[route].extend([None] * after)
        self._faults[route].extend(fault for _ in range(count))

    def delay(self, route: str, seconds: float, count: int = 1) -> None:
        self._delays[route].extend([seconds] * count)

    def clear(self, route: str) -> None:
        self._faults[route].clear()

    def next_fault(self, route: str) -> Fault | None:
        fault: Fault | None = self._take(self._faults, route)
        return fault

    def next_delay(self, route: str) -> float | None:
        delay: float | None = self._take(self._delays, route)
        return delay

    @staticmethod
    def _take(queues: defaultdict[str, deque[Any]], route: str) -> Any:
        for key in (route, ANY_ROUTE):
            if queues[key]:
                return queues[key].popleft()
        return None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


class SimulatorBase:
    """Recording and fault injection; subclasses answer in their provider's shape."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults = FaultPlan()
        # An outage: every request answers this until come_back() (queued faults wait).
        self.outage: Fault | None = None

    def go_down(self, status: int = 503, retry_after: int | None = None) -> None:
        """Answer every request with ``status`` (changing nothing) until ``come_back``: a
        provider down for as long as a test needs, not for a number of requests."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.outage = Fault(status, self.fault_body(status), headers)

    def come_back(self) -> None:
        self.outage = None

    def fail_next(
        self,
        status: int,
        count: int = 1,
        body: Any = None,
        retry_after: int | None = None,
        route: str = ANY_ROUTE,
        *,
        after: int = 0,
    ) -> None:
        """After ``after`` normal answers, the next ``count`` requests to ``route`` answer
        ``status`` (after any delay) and change nothing."""
        payload = body if body is not None else self.fault_body(status)
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.faults.fail(route, Fault(status, payload, headers), count, after=after)

    def fault_body(self, status: int) -> Any:
        """The body of an injected fault given no body; simulators answer in their vendor's
        shape."""
        return {"message": f"Falha simulada (HTTP {status})"}

    def delay_next(self, seconds: float, count: int = 1, route: str = ANY_ROUTE) -> None:
        """The next ``count`` requests to ``route`` wait ``seconds`` before being answered
        (and are still carried out afterwards, as a real server would)."""
        self.faults.delay(route, seconds, count)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    async def record(self, route: str, request: Request) -> RecordedRequest:
        raw = await request.body()
        body: Any = None
        form: dict[str, str] = {}
        if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            body = json_or_none(raw)
        record = RecordedRequest(
            route,
            request.method,
            request.url.path,
            dict(request.headers),
            body,
            form,
            datetime.now(UTC),
        )
        self.requests.append(record)
        delay = self.faults.next_delay(route)
        if delay is not None:
            await asyncio.sleep(delay)
        return record

    def injected(self, route: str) -> Response | None:
        """The outage's answer, or the queued fault for this route, as a response, or None."""
        fault = self.outage or self.faults.next_fault(route)
        if fault is None:
            return None
        return json_response(fault.status, fault.body, fault.headers)

    @staticmethod
    def finish(record: RecordedRequest, response: Response) -> Response:
        record.response_status = response.status_code
        record.response_body = json_or_none(bytes(response.body))
        return response
