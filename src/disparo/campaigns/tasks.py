"""Thin job handlers: read ids from the job, bind log context, call the idempotent function."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.exceptions import LockError

from disparo import redaction
from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.reconciler import reconcile
from disparo.campaigns.sending import run_send
from disparo.campaigns.steps import run_step
from disparo.campaigns.unknown_queries import run_unknown_query
from disparo.providers.registry import ALL_QUEUES, PLUGINS
from disparo.queues.jobs import enqueue_all
from disparo.queues.names import QueueName
from disparo.runtime import Runtime
from disparo.wordpress.webhooks import WebhookNotDelivered, deliver_pending

Handler = Callable[[Runtime, Any], Awaitable[None]]


def is_last_attempt(job: Any) -> bool:
    return int(job.attemptsMade) + 1 >= int(job.opts.get("attempts") or 1)


def _campaign_id(job: Any) -> uuid.UUID:
    return uuid.UUID(str(job.data["campaign_id"]))


async def handle_dispatch(rt: Runtime, job: Any) -> None:
    await run_dispatch(rt, _campaign_id(job), last_attempt=is_last_attempt(job))


async def handle_send(rt: Runtime, job: Any) -> None:
    await run_send(rt, _campaign_id(job), int(job.data["sequence"]))


async def handle_step(rt: Runtime, job: Any) -> None:
    await run_step(rt, _campaign_id(job), job.data["step"], int(job.data["sequence"]))


async def handle_webhooks(rt: Runtime, job: Any) -> None:
    campaign_id = _campaign_id(job)
    # One deliverer per campaign across all worker processes, or two could post the same
    # status, or a slow `processando` could land after `enviado`.
    lock = rt.queues.lock(f"webhooks:{campaign_id}", timeout_s=rt.settings.webhook_timeout * 4)
    if not await lock.acquire(blocking=False):
        if is_last_attempt(job):
            return  # the holder delivers what is pending, this one's included
        raise WebhookNotDelivered("outro worker está entregando os webhooks desta campanha")
    try:
        async with rt.sessions() as session:
            _, retry = await deliver_pending(
                session, rt.wordpress, rt.settings, campaign_id, keep_lock=lock.reacquire
            )
        await enqueue_all(rt.queues, [retry] if retry else [])
    finally:
        with contextlib.suppress(LockError):  # expired while WordPress was slow: harmless
            await lock.release()


async def handle_maintenance(rt: Runtime, job: Any) -> None:
    await reconcile(rt)


async def handle_unknown_query(rt: Runtime, job: Any) -> None:
    data = job.data
    await run_unknown_query(rt, _campaign_id(job), int(data["sequence"]), int(data["attempt"]))


def _handlers() -> dict[str, Handler]:
    """The service's own queues, then each provider's send queue and second-step queues."""
    own: dict[str, Handler] = {
        QueueName.DISPATCH_CAMPAIGN: handle_dispatch,
        QueueName.WEBHOOKS: handle_webhooks,
        QueueName.MAINTENANCE: handle_maintenance,
        QueueName.UNKNOWN_QUERIES: handle_unknown_query,
    }
    sends = {plugin.queue for plugin in PLUGINS}
    return {q: own.get(q) or (handle_send if q in sends else handle_step) for q in ALL_QUEUES}


HANDLERS: dict[str, Handler] = _handlers()


def handler_for(rt: Runtime, queue: str) -> Callable[[Any, str], Awaitable[None]]:
    handle = HANDLERS[queue]

    async def process(job: Any, token: str) -> None:
        with structlog.contextvars.bound_contextvars(
            queue=str(queue), job_id=job.id, campaign_id=job.data.get("campaign_id")
        ):
            try:
                await handle(rt, job)
            except Exception as exc:
                # bullmq keeps the reason and the traceback in Redis: only a masked one-line
                # reason goes there, without the chain of causes (URLs, provider text).
                raise JobFailed(redaction.mask_text(f"{type(exc).__name__}: {exc}")) from None

    return process


class JobFailed(Exception):
    """What a job's failure looks like in Redis: a masked reason, no chained causes."""
