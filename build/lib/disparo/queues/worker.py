"""Runs bullmq workers for the chosen queues until asked to stop, then drains them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import structlog
from bullmq import Worker

from disparo.queues.names import QueueName
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

RECONCILE_SCHEDULER = "reconcile"
# The limiter/drain traps (DESIGN.md): a short drain delay keeps idle workers responsive.
DRAIN_DELAY_S = 1


def served_queues(names: Iterable[str] | None = None) -> list[QueueName]:
    from disparo.campaigns.tasks import HANDLERS

    if not names:
        return list(HANDLERS)
    chosen = [QueueName(name) for name in names]
    unknown = [name for name in chosen if name not in HANDLERS]
    if unknown:
        raise ValueError(f"no worker for queue(s): {', '.join(unknown)}")
    return chosen


def _concurrency(rt: Runtime, queue: QueueName) -> int:
    if queue in (QueueName.WEBHOOKS, QueueName.MAINTENANCE):
        return 1  # webhooks go out one at a time, in order (Gen C policy)
    if queue == QueueName.DISPATCH_CAMPAIGN:
        return 2
    return rt.settings.worker_concurrency


async def schedule_reconciler(rt: Runtime) -> None:
    await rt.queues.queue(QueueName.MAINTENANCE).upsertJobScheduler(
        RECONCILE_SCHEDULER,
        {"every": int(rt.settings.reconcile_interval * 1000)},
        job_name="reconcile",
        job_data={},
        opts={"removeOnComplete": 100, "removeOnFail": 100},
    )


async def keep_reconciler_scheduled(rt: Runtime, stop: asyncio.Event) -> None:
    """The scheduler lives in Redis: a flushed or rebuilt Redis loses it, and with it the
    reconciler that would repair everything else. Re-declaring it is idempotent."""
    while not stop.is_set():
        try:
            await schedule_reconciler(rt)
        except Exception as exc:  # Redis down: the next round tries again
            log.warning("worker.schedule_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=rt.settings.reconcile_interval)


async def run_workers(rt: Runtime, queues: list[QueueName], stop: asyncio.Event) -> None:
    from disparo.campaigns.tasks import handler_for

    keeper = None
    if QueueName.MAINTENANCE in queues:
        await schedule_reconciler(rt)
        keeper = asyncio.create_task(keep_reconciler_scheduled(rt, stop))
    workers = [
        Worker(
            str(queue),
            handler_for(rt, queue),
            {
                **rt.queues.connection_opts,
                "concurrency": _concurrency(rt, queue),
                "drainDelay": DRAIN_DELAY_S,
                "lockDuration": 60_000,
                "name": f"disparo-{queue}",
            },
        )
        for queue in queues
    ]
    log.info("worker.started", queues=[str(queue) for queue in queues])
    await stop.wait()
    log.info("worker.stopping")
    # close() waits for the jobs in hand to finish: a batch being sent is recorded, not cut.
    await asyncio.gather(*(worker.close() for worker in workers))
    if keeper is not None:
        await keeper
    log.info("worker.stopped")
