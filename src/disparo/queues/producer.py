"""Adding jobs. Jobs carry ids only (rule 1) and are added after the commit (rule 2)."""

from __future__ import annotations

from typing import Any

from bullmq import Queue
from redis.asyncio.lock import Lock

from disparo.queues.connection import RedisTarget
from disparo.queues.names import QueueName

KEEP_COMPLETED = {"age": 7 * 24 * 3600, "count": 10_000}
KEEP_FAILED = {"age": 30 * 24 * 3600}
# bullmq's lowest priority (the highest number it takes).
PRIORITY_LIMIT = 2**21
LIVE_STATES = frozenset({"waiting", "active", "delayed", "prioritized", "waiting-children"})


class JobQueues:
    """One bullmq Queue per name, created on first use and closed together."""

    def __init__(self, redis: str | RedisTarget, prefix: str) -> None:
        self._target = redis if isinstance(redis, RedisTarget) else RedisTarget(url=redis)
        self._prefix = prefix
        self._queues: dict[str, Queue] = {}

    @property
    def connection_opts(self) -> dict[str, Any]:
        """Options of one new Queue or Worker (through Sentinel: with its own client)."""
        return {"connection": self._target.bullmq_connection(), "prefix": self._prefix}

    def queue(self, name: str) -> Queue:
        if name not in self._queues:
            self._queues[name] = Queue(str(name), self.connection_opts)
        return self._queues[name]

    async def add(
        self,
        name: str,
        job_id: str,
        data: dict[str, Any],
        *,
        delay_s: float = 0,
        attempts: int = 1,
        backoff_s: float = 5,
        priority: int = 0,
    ) -> None:
        opts: dict[str, Any] = {
            "jobId": job_id,
            "removeOnComplete": KEEP_COMPLETED,
            "removeOnFail": KEEP_FAILED,
            "attempts": attempts,
        }
        if attempts > 1:
            opts["backoff"] = {"type": "exponential", "delay": int(backoff_s * 1000)}
        if delay_s > 0:
            opts["delay"] = int(delay_s * 1000)
        if priority > 0:
            opts["priority"] = min(priority, PRIORITY_LIMIT)
        await self.queue(name).add(str(name), data, opts)

    async def needs_requeue(self, name: str, job_id: str) -> bool:
        """True when Redis holds no waiting, delayed or running job with this id. A finished
        one is removed on the way: kept in Redis, it would block re-adding its id
        (DESIGN.md, bullmq traps)."""
        state = await self.queue(name).getJobState(job_id)
        if state in LIVE_STATES:
            return False
        if state in ("completed", "failed"):
            await self.queue(name).remove(job_id)
        return True

    def lock(self, name: str, timeout_s: float) -> Lock:
        """A lock shared by every worker process (Redis), expiring if its holder dies."""
        client = self.queue(QueueName.MAINTENANCE).client
        return Lock(client, f"{self._prefix}:disparo-lock:{name}", timeout=timeout_s)

    async def close(self) -> None:
        for queue in self._queues.values():
            await queue.close()
        self._queues.clear()
