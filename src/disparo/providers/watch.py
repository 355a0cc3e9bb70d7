"""One provider request, watched once: its kind and latency go to the account's health
(health.py), its verdict to the account's circuit breaker (breaker.py). Called where a
request's outcome is known (the send and the second step), around the request itself.

Recording never changes what the request did: a Redis failure here is logged, never raised,
so a known outcome cannot turn into an unknown one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic

import structlog

from disparo.providers.breaker import CircuitBreaker, verdict_of
from disparo.providers.health import HealthStats, kind_of
from disparo.providers.policy import ProviderPolicy

log = structlog.get_logger(__name__)


class ProviderWatch:
    def __init__(self, health: HealthStats, breaker: CircuitBreaker) -> None:
        self.health = health
        self.breaker = breaker

    @asynccontextmanager
    async def request(
        self, account: str, policy: ProviderPolicy, probe_token: str = ""
    ) -> AsyncIterator[None]:
        """Watch the request inside the block; `probe_token`: it is the breaker's probe."""
        started = monotonic()
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            error = exc
            raise
        finally:
            await self._record(account, policy, kind_of(error), monotonic() - started, probe_token)

    async def _record(
        self, account: str, policy: ProviderPolicy, kind: str, seconds: float, token: str
    ) -> None:
        try:
            await self.health.record_request(account, kind, seconds)
            state = await self.breaker.record(account, policy, verdict_of(kind), token)
        except Exception:
            log.exception("provider_watch.record_failed", account=account)
            return
        if token:
            log.warning("breaker.probe_done", account=account, kind=kind, state=state)
        elif state == "open" and verdict_of(kind) not in ("", "ok"):
            log.warning("breaker.open", account=account, kind=kind)
