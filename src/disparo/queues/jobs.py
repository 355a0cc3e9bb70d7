"""Jobs decided inside a transaction and added to Redis only after it commits (rule 2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from disparo.queues.names import QueueName
from disparo.queues.producer import JobQueues


@dataclass(frozen=True, slots=True)
class PendingJob:
    queue: QueueName
    job_id: str
    data: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 0
    attempts: int = 1
    backoff_s: float = 5


async def enqueue_all(queues: JobQueues, jobs: Iterable[PendingJob]) -> None:
    for job in jobs:
        await queues.add(
            job.queue,
            job.job_id,
            job.data,
            delay_s=job.delay_s,
            attempts=job.attempts,
            backoff_s=job.backoff_s,
        )
