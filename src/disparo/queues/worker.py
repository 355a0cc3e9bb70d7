"""Runs bullmq workers for the handlers it is given until asked to stop, then drains them.

It knows no domain: the queue -> handler table is built by the worker's wiring
(disparo/worker.py) and handed in, as arq and Polar do.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from bullmq import Worker

log = structlog.get_logger(__name__)

# A bullmq processor: (job, token) -> None.
JobHandler = Callable[[Any, str], Awaitable[None]]
# The limiter/drain traps (DESIGN.md): a short drain delay keeps idle workers responsive.
DRAIN_DELAY_S = 1
FETCH_RETRY_DELAY_MS = 1000


@dataclass(frozen=True, slots=True)
class Served:
    """One queue this process serves: its handler and how many jobs it runs at once."""

    handler: JobHandler
    concurrency: int


async def run_workers(
    served: Mapping[str, Served],
    connection_opts: Mapping[str, Any],
    stop: asyncio.Event,
    *,
    lock_seconds: float,
    worker_id: str | None = None,
) -> None:
    in_hand: set[asyncio.Task[Any]] = set()
    workers = [
        Worker(
            str(queue),
            _tracked(spec.handler, in_hand),
            {
                **connection_opts,
                "concurrency": spec.concurrency,
                "drainDelay": DRAIN_DELAY_S,
                "lockDuration": int(lock_seconds * 1000),
                # bullmq's default check every 30 s, sooner when the lock is shorter.
                "stalledInterval": int(min(30.0, lock_seconds) * 1000),
                # After a failed fetch (Redis away, failing over) try again in a second, not
                # bullmq's 15 s: the jobs waiting meanwhile are campaigns standing still.
                "runRetryDelay": FETCH_RETRY_DELAY_MS,
                # Host and pid make each process's connections (two per queue) countable
                # as one worker in CLIENT LIST (metrics: disparo_queue_workers).
                "name": f"disparo-{queue}@{socket.gethostname()}:{os.getpid()}",
            },
        )
        for queue, spec in served.items()
    ]
    log.info("worker.started", queues=[str(queue) for queue in served], worker_id=worker_id)
    await stop.wait()
    log.info("worker.stopping", jobs_in_hand=len(in_hand))
    # close() stops fetching and waits for the jobs in hand: a batch being sent is recorded,
    # not cut. It only waits for the jobs it knew of when called; one that started at that
    # very moment is waited for here, or the process would exit in the middle of it. (One
    # fetched but not started is handed back by bullmq when its lock expires.)
    await asyncio.gather(*(worker.close() for worker in workers))
    if in_hand:
        await asyncio.wait(set(in_hand))
    log.info("worker.stopped")


def _tracked(process: JobHandler, in_hand: set[asyncio.Task[Any]]) -> JobHandler:
    async def run(job: Any, token: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        in_hand.add(task)
        try:
            await process(job, token)
        finally:
            in_hand.discard(task)

    return run
