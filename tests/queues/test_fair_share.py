"""Fair share across campaigns: a provider's queue (real Redis, a real bullmq worker taking
one job at a time) serves every campaign's first batch before any campaign's second, so a
campaign dispatched after a big one starts at once instead of waiting for it to finish."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from bullmq import Worker

from disparo.campaigns.models import BatchStep, Campaign, ProviderBatch
from disparo.campaigns.outcomes import batch_job
from disparo.queues.jobs import enqueue_all
from disparo.queues.producer import JobQueues
from tests.conftest import REDIS_URL


def _jobs(name: str, batches: int) -> list[Any]:
    campaign = Campaign(id=uuid.uuid4(), provider="CDA", agendamento_id=name)
    sends = [
        ProviderBatch(step=BatchStep.SEND, sequence=seq, attempts=0, due_at=None)
        for seq in range(batches)
    ]
    return [batch_job(campaign, batch) for batch in sends]


async def test_every_campaigns_first_batches_go_before_any_later_ones(redis_prefix: str) -> None:
    queues = JobQueues(REDIS_URL, redis_prefix)
    big, small, late = _jobs("big", 6), _jobs("small", 2), _jobs("late", 2)
    names = {
        job.job_id: name
        for name, jobs in (("big", big), ("small", small), ("late", late))
        for job in jobs
    }
    # The big campaign's six batches are queued first, then the small one's, then the late.
    await enqueue_all(queues, big + small + late)
    taken: list[tuple[str, int]] = []
    done = asyncio.Event()

    async def process(job: Any, token: str) -> None:
        taken.append((names[job.id], job.data["sequence"]))
        if len(taken) == len(names):
            done.set()

    queue = big[0].queue
    worker = Worker(queue, process, {**queues.connection_opts, "concurrency": 1})
    try:
        await asyncio.wait_for(done.wait(), timeout=20)
    finally:
        await worker.close()
        await queues.close()
    assert taken == [
        ("big", 0), ("small", 0), ("late", 0),
        ("big", 1), ("small", 1), ("late", 1),
        ("big", 2), ("big", 3), ("big", 4), ("big", 5),
    ]  # fmt: skip
