"""The worker's wiring, beside the API's (app.py): the queue -> handler table built from
campaigns.tasks, handed to queues.worker, which only runs bullmq workers for what it is given.
`disparo worker`, its `--processes` pool and the dev stack all start workers through here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import structlog

from disparo.campaigns.dead_workers import sweep_dead_claims
from disparo.campaigns.tasks import HANDLERS, handler_for
from disparo.queues.heartbeat import Heartbeat, hold_as, new_worker_id
from disparo.queues.names import QueueName
from disparo.queues.worker import Served, run_workers
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

RECONCILE_SCHEDULER = "reconcile"


def served_queues(names: Iterable[str] | None = None) -> list[str]:
    if not names:
        return list(HANDLERS)
    chosen = list(names)
    unknown = [name for name in chosen if name not in HANDLERS]
    if unknown:
        raise ValueError(f"no worker for queue(s): {', '.join(unknown)}")
    return chosen


def _concurrency(rt: Runtime, queue: str) -> int:
    if queue in (QueueName.WEBHOOKS, QueueName.MAINTENANCE):
        return 1  # webhooks go out one at a time, in order (Gen C policy)
    if queue in (QueueName.DISPATCH_CAMPAIGN, QueueName.UNKNOWN_QUERIES):
        return 2  # questions about UNKNOWN batches are rare: two at a time is plenty
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
    reconciler that would repair everything else. Re-declaring it is idempotent. The worker
    declared it once as it started, so the first round waits an interval."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=rt.settings.reconcile_interval)
        if stop.is_set():
            return
        try:
            await schedule_reconciler(rt)
        except Exception as exc:  # Redis down: the next round tries again
            log.warning("worker.schedule_failed", error=repr(exc))


async def start_heartbeat(rt: Runtime) -> Heartbeat:
    """This process's heartbeat, beaten once before any claim can record its id; the claims
    of the tasks created from here on record it (bullmq's tasks inherit the context)."""
    client = rt.queues.queue(QueueName.MAINTENANCE).client
    heartbeat = Heartbeat(
        client, rt.settings.queue_prefix, new_worker_id(), rt.settings.heartbeat_ttl
    )
    await heartbeat.beat()
    hold_as(heartbeat.worker_id)
    return heartbeat


async def run_worker(rt: Runtime, queues: list[str], stop: asyncio.Event) -> None:
    """Serve `queues` (names from served_queues) until `stop` is set, then drain."""
    heartbeat = await start_heartbeat(rt)
    # The heartbeat outlives `stop`: draining jobs still hold their claims.
    beating = asyncio.Event()
    background = [asyncio.create_task(heartbeat.run(rt.settings.heartbeat_interval, beating))]
    if QueueName.MAINTENANCE in queues:
        await schedule_reconciler(rt)
        background.append(asyncio.create_task(keep_reconciler_scheduled(rt, stop)))
        background.append(asyncio.create_task(sweep_dead_claims(rt, beating)))
    served = {queue: Served(handler_for(rt, queue), _concurrency(rt, queue)) for queue in queues}
    await run_workers(
        served,
        rt.queues.connection_opts,
        stop,
        lock_seconds=rt.settings.job_lock_seconds,
        worker_id=heartbeat.worker_id,
    )
    beating.set()
    await asyncio.gather(*background)
    await heartbeat.end()
