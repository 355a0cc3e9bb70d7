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
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from disparo.metrics import record_rate_limit_wait
from disparo.providers.policy import ProviderPolicy
from disparo.providers.slots import Slot, hold

log = structlog.get_logger(__name__)

# A tenth over a second: the time between taking a slot and the request reaching the
# provider varies (a busy event loop, a scheduler pause), and the provider counts on its own
# clock. The cost: a saturated account gets R/1.1 requests/s, 91% of its limit.
WINDOW_MS = 1100

_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
-- A replica promoted by a failover (or a master restarted) has a new replication id, and
-- may lack the last slots the old master granted; a Redis that lost its data (restarted
-- empty, flushed, a replica promoted before its first sync) has no id for an account this
-- process already used (ARGV[7]). Either way: hold the account one window, say so (<0).
local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
local known = redis.call('GET', KEYS[4])
if replid and known ~= replid then
  redis.call('SET', KEYS[4], replid)
  if known or ARGV[7] == '1' then
    redis.call('SET', KEYS[2], '1', 'PX', window)
    return -window
  end
end
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local per_recipient = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local take = ARGV[6] == '1'
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
  if not take then return 0 end
  local next_tat = math.max(tat, now) + math.ceil(cost * per_recipient)
  redis.call('SET', KEYS[3], next_tat, 'PX', next_tat - now + window)
end
if limit > 0 and take then
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

    def __init__(
        self,
        client: Any,
        prefix: str,
        window_ms: int = WINDOW_MS,
        on_wait: Callable[[str, float], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._on_wait = on_wait  # the account's health counts its waits (health.py)
        self._prefix = prefix
        self._window_ms = window_ms
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)
        # Accounts this process has asked about: their replication id must be in Redis, so
        # a missing one means Redis lost its data, not a first use.
        self._used: set[str] = set()

    def _keys(self, account: str) -> list[str]:
        base = f"{self._prefix}:disparo-rate:{{{account}}}"
        return [f"{base}:requests", f"{base}:pause", f"{base}:recipients", f"{base}:replid"]

    async def wait_time(
        self, account: str, policy: ProviderPolicy, recipients: int, *, take: bool = True
    ) -> float:
        """0 when a request may leave now (and, with `take`, it is counted); else seconds to
        wait. `take=False` only looks."""
        rate = policy.requests_per_second
        limit, window = int(rate), self._window_ms
        if 0 < rate < 1:
            # Under one request a second: one request per 1/rate seconds.
            limit, window = 1, int(self._window_ms / rate)
        per_recipient_ms = (
            1000.0 / policy.recipients_per_second if policy.recipients_per_second else 0.0
        )
        used = int(account in self._used)
        waited = await self._acquire(
            keys=self._keys(account),
            args=[limit, window, per_recipient_ms, recipients, uuid.uuid4().hex, int(take), used],
        )
        self._used.add(account)
        if int(waited) < 0:
            log.warning(
                "ratelimit.failover_detected", account=account,
                detail="Redis changed master or lost its data: slots granted just before may "
                "be lost; the account waits one window so the limit still holds",
            )  # fmt: skip
            waited = -int(waited)
        return int(waited) / 1000.0

    async def acquire(
        self,
        account: str,
        policy: ProviderPolicy,
        recipients: int,
        max_wait: float,
        take: bool = True,
    ) -> float:
        """Wait for a slot, `max_wait` seconds at most in all (other workers may win the
        slots meanwhile); `take=False` only waits until there is room. Returns 0 once
        taken; else the wait still ahead, and the caller gives the batch back rather than
        hold it longer (its claim would go stale)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            wait = await self.wait_time(account, policy, recipients, take=take)
            if wait <= 0:
                if take:  # the request must leave now: the HTTP client checks (slots.py)
                    hold(Slot(self, account, policy, recipients, loop.time()))
                return 0.0
            record_rate_limit_wait(account, wait)
            await self._count_wait(account, wait)
            if wait > deadline - loop.time():
                return wait
            await asyncio.sleep(wait)

    async def _count_wait(self, account: str, wait: float) -> None:
        if self._on_wait is None:
            return
        try:
            await self._on_wait(account, wait)
        except Exception:  # only statistics: never a reason to fail a send
            log.exception("ratelimit.wait_not_counted", account=account)

    async def try_acquire(
        self,
        account: str,
        policy: ProviderPolicy,
        recipients: int,
        max_wait: float,
        *,
        take: bool = True,
    ) -> float:
        """`acquire` for a caller that gives its claimed batch back instead of failing it:
        0 once taken (or, without `take`, once there is room); else the seconds to come back
        after. An unreachable Redis is a wait too (`_unless_unreadable`)."""
        waiting = self.acquire(account, policy, recipients, max_wait, take)
        return await self._unless_unreadable(account, policy, waiting)

    async def try_look(self, account: str, policy: ProviderPolicy, recipients: int) -> float:
        """The wait before the account has room, neither taking it nor waiting for it (a
        look before claiming); an unreachable Redis is a wait too."""
        looking = self.wait_time(account, policy, recipients, take=False)
        return await self._unless_unreadable(account, policy, looking)

    async def _unless_unreadable(
        self, account: str, policy: ProviderPolicy, asking: Awaitable[float]
    ) -> float:
        """Never 0 when Redis cannot answer: nothing is sent past a limit nobody can read
        (and nothing was sent, so it costs the batch no attempt)."""
        try:
            return await asking
        except Exception:
            log.exception("ratelimit.unavailable", account=account)
            return max(1.0, policy.base_delay)

    async def pause(self, account: str, seconds: float) -> None:
        """Hold every request of the account for `seconds` (a provider's Retry-After)."""
        if seconds > 0:
            await self._pause(keys=[self._keys(account)[1]], args=[int(seconds * 1000)])
