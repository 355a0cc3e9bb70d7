"""Rate limits shared by every worker process of every host (rule 5), held in Redis.

One Lua script decides atomically, on the Redis server's clock, whether a request of a
provider account may leave now or how long it must wait:
- requests/s: a sliding log of the last window's requests (a sorted set), so no window of
  WINDOW_MS ever holds more than the limit;
- recipients/s: a virtual clock (GCRA) advanced by each request's recipient count;
- a pause key set when the provider answers with Retry-After: every worker of that account
  waits it out, not just the job that got the answer.
bullmq's worker limiter is per queue and per worker and cannot do any of this (DESIGN.md).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from disparo.metrics import record_rate_limit_wait
from disparo.providers.policy import ProviderPolicy

# Slightly over a second: the time between taking a slot and the request reaching the
# provider varies by a few milliseconds, and the provider counts on its own clock.
WINDOW_MS = 1040

_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local per_recipient = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
end
if per_recipient > 0 then
  local tat = tonumber(redis.call('GET', KEYS[3]) or '0')
  if tat > now then return tat - now end
  local next_tat = math.max(tat, now) + math.ceil(cost * per_recipient)
  redis.call('SET', KEYS[3], next_tat, 'PX', next_tat - now + window)
end
if limit > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], window * 2)
end
return 0
"""

_PAUSE = """
local current = redis.call('PTTL', KEYS[1])
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


class RateLimiter:
    """Limits per provider account, in the Redis all workers share."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    def _keys(self, account: str) -> list[str]:
        base = f"{self._prefix}:disparo-rate:{{{account}}}"
        return [f"{base}:requests", f"{base}:pause", f"{base}:recipients"]

    async def wait_time(self, account: str, policy: ProviderPolicy, recipients: int) -> float:
        """0 when a request may leave now (and it is counted); else seconds to wait."""
        rate = policy.requests_per_second
        limit, window = int(rate), WINDOW_MS
        if 0 < rate < 1:
            # Under one request a second: one request per 1/rate seconds.
            limit, window = 1, int(WINDOW_MS / rate)
        per_recipient_ms = (
            1000.0 / policy.recipients_per_second if policy.recipients_per_second else 0.0
        )
        waited = await self._acquire(
            keys=self._keys(account),
            args=[limit, window, per_recipient_ms, recipients, uuid.uuid4().hex],
        )
        return int(waited) / 1000.0

    async def acquire(
        self, account: str, policy: ProviderPolicy, recipients: int, max_wait: float
    ) -> float:
        """Wait for a slot. Returns 0 once taken; or the wait still ahead when it exceeds
        `max_wait` (the caller defers the batch rather than hold a worker that long)."""
        while True:
            wait = await self.wait_time(account, policy, recipients)
            if wait <= 0:
                return 0.0
            record_rate_limit_wait(account, wait)
            if wait > max_wait:
                return wait
            await asyncio.sleep(wait)

    async def pause(self, account: str, seconds: float) -> None:
        """Hold every request of the account for `seconds` (a provider's Retry-After)."""
        if seconds > 0:
            await self._pause(keys=[self._keys(account)[1]], args=[int(seconds * 1000)])
