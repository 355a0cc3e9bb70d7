"""Per-worker heartbeats in Redis: how a dead worker is told apart from a slow request.

Every `disparo worker` process has an id and keeps a key `{prefix}:disparo-worker:{id}`
alive (refreshed every `heartbeat_interval`, expiring after `heartbeat_ttl`). A claim
records the id of the process that made it (`holder()`), so a sweeper that finds the key
gone knows the claim's owner stopped — in seconds, instead of waiting out the longest a
request could take. Knows no domain: the judging is in campaigns/liveness.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# Set for the tasks of a worker process that beats (bullmq's tasks inherit it from the
# context the workers were created in). NULL elsewhere: a process without a heartbeat (a
# test calling a handler, an operator command) never looks dead, only old.
_HOLDER: ContextVar[str | None] = ContextVar("disparo_claim_holder", default=None)


def new_worker_id() -> str:
    """Unique per process, readable by an operator: host, pid, and a random tail (a pid is
    reused after a restart; the tail keeps the new process from inheriting a dead claim)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def holder() -> str | None:
    """The worker id a claim made in this context records (None outside a beating worker)."""
    return _HOLDER.get()


def hold_as(worker_id: str | None) -> None:
    _HOLDER.set(worker_id)


def heartbeat_key(prefix: str, worker_id: str) -> str:
    return f"{prefix}:disparo-worker:{worker_id}"


class Heartbeat:
    """One worker's key. `run` refreshes it until stopped, then deletes it (a drained worker
    holds no claim, and its absence must not wait for the TTL)."""

    def __init__(self, client: Any, prefix: str, worker_id: str, ttl: float) -> None:
        self._client, self.worker_id = client, worker_id
        self._key = heartbeat_key(prefix, worker_id)
        self._ttl_ms = max(1, int(ttl * 1000))

    async def beat(self) -> None:
        await self._client.set(self._key, str(os.getpid()), px=self._ttl_ms)

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                # One hung SET (a half-open connection, a failover's retries) must not
                # outlive the TTL: a live worker would be judged dead. Cut, the next beat
                # tries again on a fresh connection.
                async with asyncio.timeout(max(1.0, interval)):
                    await self.beat()
            except Exception as exc:  # Redis down: keep trying; the DB fence keeps sends safe
                log.warning("heartbeat.failed", worker_id=self.worker_id, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def end(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.delete(self._key)


class AbsenceWatch:
    """Which holders are dead. A key can also vanish because Redis was flushed, restarted
    without its data, or failed over to a replica that had not caught up: a live worker
    writes it again within one interval. So a holder counts as dead only once its key has
    been missing on every look for `confirm_after` seconds."""

    def __init__(self, client: Any, prefix: str, confirm_after: float) -> None:
        self._client, self._prefix = client, prefix
        self._confirm_after = confirm_after
        self._missing_since: dict[str, float] = {}

    async def dead(self, holders: Iterable[str]) -> set[str]:
        wanted = sorted(set(holders))
        if not wanted:
            self._missing_since.clear()
            return set()
        # One EXISTS per key: keys of a cluster may live on different nodes.
        alive = [await self._client.exists(heartbeat_key(self._prefix, h)) for h in wanted]
        now = time.monotonic()
        found_dead: set[str] = set()
        for worker_id, present in zip(wanted, alive, strict=True):
            if present:
                self._missing_since.pop(worker_id, None)
                continue
            since = self._missing_since.setdefault(worker_id, now)
            if now - since >= self._confirm_after:
                found_dead.add(worker_id)
        for gone in set(self._missing_since) - set(wanted):
            del self._missing_since[gone]  # its claims were judged or finished
        return found_dead
