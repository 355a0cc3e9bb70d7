"""Load shedding: a bounded number of requests at work, a short bounded wait for the rest,
and a quick 503 with Retry-After beyond that.

Without it, requests past capacity queue behind the database pool (30 s each), clients give
up and retry, and the server keeps working for minutes on answers nobody reads. A request
refused here cost nothing: the client (WordPress retries a dispatch with the same
agendamento_id) comes back after Retry-After and gets the same campaign.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from disparo.errors import OVERLOADED, error_body
from disparo.metrics import API_REQUESTS_SHED

log = structlog.get_logger(__name__)

Scope = dict[str, Any]

# Probes and scrapes must answer under load: they are how an operator sees the overload.
UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})
SHED_LOG_INTERVAL_S = 5.0


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    in_flight: int  # requests at work at once (0: no limit)
    queued: int  # requests allowed to wait for a place
    wait: float  # seconds a request may wait for a place
    retry_after: int  # what a refused client is told to wait


class Admission:
    """ASGI middleware in front of the app. `limits` reads the running app's settings."""

    def __init__(self, app: Any, limits: Callable[[Scope], AdmissionLimits]) -> None:
        self.app = app
        self.limits = limits
        self._places: asyncio.Semaphore | None = None
        self._waiting = 0
        self._shed = _ShedCounter()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        limits = self.limits(scope)
        if limits.in_flight <= 0:
            await self.app(scope, receive, send)
            return
        places = self._places_for(limits)
        if not await self._admit(places, limits):
            API_REQUESTS_SHED.inc()
            self._shed.count(scope.get("path", ""))
            await _refuse(send, limits.retry_after)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            places.release()

    def _places_for(self, limits: AdmissionLimits) -> asyncio.Semaphore:
        # Created on first use: inside the server's event loop, with the settings' size.
        if self._places is None:
            self._places = asyncio.Semaphore(limits.in_flight)
        return self._places

    async def _admit(self, places: asyncio.Semaphore, limits: AdmissionLimits) -> bool:
        if not places.locked():
            await places.acquire()
            return True
        if self._waiting >= limits.queued:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(limits.wait):
                await places.acquire()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1


class _ShedCounter:
    """At most one warning per interval, with how many were refused since the last one: an
    overload must not also flood the logs."""

    def __init__(self) -> None:
        self._logged_at = -SHED_LOG_INTERVAL_S
        self._refused = 0

    def count(self, path: str) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._logged_at < SHED_LOG_INTERVAL_S:
            return
        log.warning("api.overloaded", refused=self._refused, last_path=path)
        self._logged_at = now
        self._refused = 0


async def _refuse(send: Any, retry_after: int) -> None:
    body = json.dumps(
        error_body(503, OVERLOADED),
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
