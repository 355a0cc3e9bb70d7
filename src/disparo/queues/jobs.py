"""Jobs decided inside a transaction and added to Redis only after it commits (rule 2)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from disparo.queues.producer import JobQueues

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PendingJob:
    queue: str  # a QueueName, or a provider plugin's queue
    job_id: str
    data: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 0
    attempts: int = 1
    backoff_s: float = 5
    # bullmq's: 0 first, then 1, 2... (FIFO within one); send batches use theirs so that
    # every campaign's first batches go before any campaign's later ones (outcomes.batch_job).
    priority: int = 0


async def enqueue_all(queues: JobQueues, jobs: Iterable[PendingJob]) -> None:
    """Add jobs whose work is already committed. A Redis failure here loses nothing: the
    database still says the work is due and the reconciler adds the job again, so it is
    logged rather than allowed to abort what the caller does next (such as sending)."""
    for job in jobs:
        try:
            await queues.add(
                job.queue,
                job.job_id,
                job.data,
                delay_s=job.delay_s,
                attempts=job.attempts,
                backoff_s=job.backoff_s,
                priority=job.priority,
            )
        except Exception:
            log.exception("queue.enqueue_failed", queue=str(job.queue), job_id=job.job_id)


async def requeue(queues: JobQueues, jobs: Sequence[PendingJob]) -> list[PendingJob]:
    """Add the jobs Redis does not hold (lost, flushed, or kept as finished: a finished one
    would refuse its id). Returns those added. The reconciler and the operator's controls
    both repair through this."""
    missing = [job for job in jobs if await queues.needs_requeue(job.queue, job.job_id)]
    await enqueue_all(queues, missing)
    return missing
