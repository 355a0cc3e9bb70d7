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

# INCR and its expiry in one step: a process that stops between the two cannot leave a
# counter that never expires (that bucket would be refused for good).
_COUNT_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""

# Seconds left of a bucket at or over its limit, else 0; one round trip, so the counter
# cannot vanish between reading it and reading its expiry.
_SECONDS_REFUSED = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count < tonumber(ARGV[1]) then
  return 0
end
return math.max(0, redis.call('TTL', KEYS[1]))
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
            seconds = await self.client.eval(_SECONDS_REFUSED, 1, self._key(bucket), self.limit)
        except RedisError as exc:
            log.warning("throttle.unavailable", kind=self.kind, error=type(exc).__name__)
            return 0
        return int(seconds)

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
