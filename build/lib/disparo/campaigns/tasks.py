"""Thin job handlers: read ids from the job, bind log context, call the idempotent function."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.exceptions import LockError

from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.sending import run_send
from disparo.queues.names import QueueName
from disparo.queues.reconciler import reconcile
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
            await deliver_pending(
                session, rt.wordpress, campaign_id, last_attempt=is_last_attempt(job)
            )
    finally:
        with contextlib.suppress(LockError):  # expired while WordPress was slow: harmless
            await lock.release()


async def handle_maintenance(rt: Runtime, job: Any) -> None:
    await reconcile(rt)


HANDLERS: dict[QueueName, Handler] = {
    QueueName.DISPATCH_CAMPAIGN: handle_dispatch,
    QueueName.CDA_SEND: handle_send,
    QueueName.WEBHOOKS: handle_webhooks,
    QueueName.MAINTENANCE: handle_maintenance,
}


def handler_for(rt: Runtime, queue: QueueName) -> Callable[[Any, str], Awaitable[None]]:
    handle = HANDLERS[queue]

    async def process(job: Any, token: str) -> None:
        with structlog.contextvars.bound_contextvars(
            queue=str(queue), job_id=job.id, campaign_id=job.data.get("campaign_id")
        ):
            await handle(rt, job)

    return process
