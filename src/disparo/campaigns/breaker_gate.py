"""The send's questions to its account's circuit breaker (providers/breaker.py), answered
so that the breaker can only hold a batch back, never fail it, and never stands in the way
when Redis cannot answer (the rate limiter's look right after refuses to send then)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from disparo.campaigns.provider_controls import wake_waiting
from disparo.providers.breaker import Admission
from disparo.providers.policy import ProviderPolicy
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)


async def admit(rt: Runtime, account: str, policy: ProviderPolicy) -> Admission:
    try:
        admission = await rt.watch.breaker.admit(account, policy)
    except Exception:
        log.exception("breaker.unreadable", account=account)
        return Admission(0.0)
    if admission.probe:
        log.warning("breaker.probe", account=account)
    return admission


@asynccontextmanager
async def probing(rt: Runtime, account: str, token: str) -> AsyncIterator[None]:
    """Around a request that may be the breaker's probe (`token`, else ""): its lock is
    released after, so a probe that sent nothing lets the next one go at once, and when it
    succeeded and closed the breaker the batches that waited are woken."""
    try:
        yield
    finally:
        if token:
            await release_probe(rt, account, token)
    if token:
        await wake_if_closed(rt, account)


async def release_probe(rt: Runtime, account: str, token: str) -> None:
    try:
        await rt.watch.breaker.release(account, token)
    except Exception:  # its TTL frees it anyway
        log.exception("breaker.release_failed", account=account)


async def wake_if_closed(rt: Runtime, account: str) -> None:
    """After a probe: when it closed the breaker, the batches that waited go now rather than
    each at the end of its own cool-down."""
    try:
        if (await rt.watch.breaker.read(account)).state != "closed":
            return
        woken = await wake_waiting(rt)
    except Exception:  # they go at their due time anyway
        log.exception("breaker.wake_failed", account=account)
        return
    log.warning("breaker.closed", account=account, woken_batches=woken)


async def waiting_reason(rt: Runtime, account: str) -> str:
    """What the batch's history (and its campaign's status) says while it waits."""
    try:
        state = await rt.watch.breaker.read(account)
    except Exception:
        return f"conta {account} pausada pelo disjuntor"
    return f"aguardando o fornecedor: {state.summary}"
