"""A rate-limit slot is only good if the request leaves right after it is granted.

The limiter (ratelimit.py) spaces the slots on the Redis clock and allows ~100 ms between a
slot and the request reaching the provider. A worker whose event loop is busy (ingesting a
large campaign, a GC pause, a starved CPU) can sit longer than that between the two, and a
late request lands in the same provider second as later ones: measured on four hosts, up to
10 requests in one second against a limit of 8. So the slot a send task was granted rides
in a context variable, and the shared HTTP client checks it right before each request's first
byte, once its connection is ready (the transport's before_headers: a wait for a pooled
connection or a connect counts too): older than STALE_AFTER, a fresh slot is taken first. A
stale slot costs throughput, never the limit."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

STALE_AFTER = 0.05  # seconds between the grant and the request leaving, at most
# Waiting longer than this for a fresh slot gives the batch back unsent (a connect error
# is what the adapters already treat as "the provider never saw it"). Well inside the send
# deadline, which this wait counts against.
MAX_REFRESH_WAIT = 1.0


@dataclass
class Slot:
    limiter: Any  # RateLimiter
    account: str
    policy: Any  # ProviderPolicy
    recipients: int
    granted: float  # the event loop's clock


_SLOT: ContextVar[Slot | None] = ContextVar("disparo_rate_slot", default=None)


def hold(slot: Slot) -> None:
    """The slot this task was just granted; the next requests of this task are checked."""
    _SLOT.set(slot)


async def refresh_stale_slot(request: httpx.Request) -> None:
    slot = _SLOT.get()
    if slot is None:
        return
    loop = asyncio.get_running_loop()
    late = loop.time() - slot.granted
    if late <= STALE_AFTER:
        return
    log.info("ratelimit.slot_stale", late_ms=round(late * 1000), account=slot.account)
    deadline = loop.time() + MAX_REFRESH_WAIT
    while (wait := await _fresh_wait(slot, request)) > 0:
        if loop.time() + wait > deadline:
            raise httpx.ConnectError(
                "limite de envio: vaga expirada, lote não enviado", request=request
            )
        await asyncio.sleep(wait)
    slot.granted = loop.time()


async def _fresh_wait(slot: Slot, request: httpx.Request) -> float:
    try:
        return float(await slot.limiter.wait_time(slot.account, slot.policy, slot.recipients))
    except Exception as exc:  # Redis away: never send past a limit we cannot read
        raise httpx.ConnectError(
            f"limite de envio indisponível ({type(exc).__name__}), lote não enviado",
            request=request,
        ) from exc
