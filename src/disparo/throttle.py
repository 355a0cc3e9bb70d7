"""Failed-authentication counters in Redis, shared by every API process: a client (or a key
tried) with too many failures in a window is refused until the window passes.

Bucket names are hashed, so Redis holds neither client addresses nor the keys people tried.
When Redis cannot be reached the check lets the request through (logged): refusing every
caller because a counter is unavailable would turn a Redis outage into an API outage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Throttle:
    client: Any  # redis.asyncio.Redis (decode_responses)
    prefix: str
    kind: str  # "api-key", "signin-client", "signin-key"
    limit: int
    window: float

    def _key(self, bucket: str) -> str:
        digest = hashlib.sha256(f"{self.kind}\0{bucket}".encode()).hexdigest()[:32]
        return f"{self.prefix}:disparo-throttle:{self.kind}:{digest}"

    async def retry_after(self, bucket: str) -> int:
        """Seconds this bucket must wait (0: not throttled)."""
        try:
            count = await self.client.get(self._key(bucket))
            if count is None or int(count) < self.limit:
                return 0
            ttl = await self.client.ttl(self._key(bucket))
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)
            return 0
        return max(1, int(ttl))

    async def failed(self, bucket: str) -> None:
        key = self._key(bucket)
        try:
            count = await self.client.incr(key)
            if int(count) == 1:
                await self.client.expire(key, max(1, int(self.window)))
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)

    async def clear(self, bucket: str) -> None:
        try:
            await self.client.delete(self._key(bucket))
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)
