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

# One step, so a process that stops between the two cannot leave a counter without expiry
# (that bucket would be refused for good); a counter found without one gets it now.
_COUNT_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


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
            ttl = int(await self.client.ttl(self._key(bucket)))
            if ttl == -2:  # expired, or cleared by a success, since the GET
                return 0
            if ttl == -1:  # a counter without expiry would refuse this bucket for good
                ttl = max(1, int(self.window))
                await self.client.expire(self._key(bucket), ttl)
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)
            return 0
        return max(1, ttl)

    async def failed(self, bucket: str) -> None:
        window = max(1, int(self.window))
        try:
            await self.client.eval(_COUNT_FAILURE, 1, self._key(bucket), window)
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)

    async def clear(self, bucket: str) -> None:
        try:
            await self.client.delete(self._key(bucket))
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)
