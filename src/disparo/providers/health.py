"""Provider health per account, shared by every worker of every host: request counts by
kind, latency percentiles and rate-limit waits over the last minutes, held in Redis.

Each account has one small hash per BUCKET_S seconds (counters and a latency histogram),
expiring after the history it belongs to, so memory is bounded by accounts × buckets. Every
key of an account carries its hash tag, like the rate limiter's (ratelimit.py), so the read
of all its buckets is one Lua call on Redis Cluster too. The bucket a request lands in is
chosen by `clock` (tests move it); hosts a second apart land in neighbouring buckets, which
the read sums anyway.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from disparo.errors import Outcome, classify

# Seconds since the epoch; replaced by tests that move time.
clock: Callable[[], float] = time.time

BUCKET_S = 10
# Upper bounds (ms) of the latency histogram's buckets; the last one is "slower".
LATENCY_BOUNDS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000)
KINDS = ("ok", "4xx", "5xx", "timeout", "connection", "rate_limited", "other")

_RECORD = """
for i = 1, #ARGV - 1, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[#ARGV])
return 0
"""

_READ = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
"""


def kind_of(error: BaseException | None) -> str:
    """How a request ended, in the words an operator reads: accepted (ok), refused (4xx), a
    5xx, a timeout, a connection failure, a 429, or something else (our own crash)."""
    if error is None:
        return "ok"
    status = getattr(error, "status_code", None)
    outcome = classify(error)
    if status == 429:
        return "rate_limited"
    if outcome == Outcome.UNKNOWN:
        # No whole answer after the body left: a read timeout, a dropped connection, a
        # gateway's 502/504 (it gave up waiting; the provider may have the batch).
        return "timeout" if status is None or status >= 500 else "other"
    if status == 408 or outcome == Outcome.DEADLINE:
        return "timeout"
    if isinstance(status, int) and status >= 500:
        return "5xx"
    if isinstance(status, int) and 400 <= status < 500:
        return "4xx"
    if outcome == Outcome.RETRY:
        return "connection"  # connect refused/reset/timeout, TLS, a body cut off mid-way
    return "other"  # refused before anything left (no valid request, an outbound rule)


def latency_bucket(seconds: float) -> int:
    ms = seconds * 1000
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if ms <= bound:
            return index
    return len(LATENCY_BOUNDS_MS)


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """What the last `minutes` held for one account."""

    account: str
    minutes: float
    requests: int
    kinds: dict[str, int]
    latency_ms: dict[str, float]  # p50, p95, p99 (bucket upper bounds), avg
    rate_limit_waits: int
    rate_limit_wait_s: float

    @property
    def per_minute(self) -> float:
        return self.requests / self.minutes if self.minutes else 0.0

    @property
    def error_rate(self) -> float:
        failed = self.requests - self.kinds.get("ok", 0)
        return failed / self.requests if self.requests else 0.0


class HealthStats:
    """Records and reads the per-account health, in the Redis all workers share."""

    def __init__(self, client: Any, prefix: str, minutes: float = 5.0) -> None:
        self._client = client
        self._prefix = prefix
        self.minutes = minutes
        self._record = client.register_script(_RECORD)
        self._read = client.register_script(_READ)

    @property
    def _buckets(self) -> int:
        return max(1, math.ceil(self.minutes * 60 / BUCKET_S))

    def _key(self, account: str, bucket: int) -> str:
        return f"{self._prefix}:disparo-health:{{{account}}}:{bucket}"

    @property
    def _index(self) -> str:
        # One key on its own (single-key commands only): which accounts were seen lately.
        return f"{self._prefix}:disparo-health:accounts"

    async def record_request(self, account: str, kind: str, seconds: float) -> None:
        fields = {"n": 1, kind: 1, f"l{latency_bucket(seconds)}": 1}
        fields["ms"] = int(seconds * 1000)
        await self._add(account, fields)

    async def record_wait(self, account: str, seconds: float) -> None:
        await self._add(account, {"waits": 1, "wait_ms": int(seconds * 1000)})

    async def _add(self, account: str, fields: dict[str, int]) -> None:
        now = clock()
        ttl = int(self.minutes * 60) + 2 * BUCKET_S
        args: list[Any] = [item for pair in fields.items() for item in pair]
        await self._record(keys=[self._key(account, int(now // BUCKET_S))], args=[*args, ttl])
        await self._client.zadd(self._index, {account: now})
        await self._client.zremrangebyscore(self._index, "-inf", now - ttl)

    async def accounts(self) -> list[str]:
        since = clock() - self.minutes * 60 - BUCKET_S
        names = await self._client.zrangebyscore(self._index, since, "+inf")
        return sorted(n.decode() if isinstance(n, bytes) else str(n) for n in names)

    async def read(self, account: str) -> AccountHealth:
        newest = int(clock() // BUCKET_S)
        keys = [self._key(account, newest - age) for age in range(self._buckets)]
        totals: dict[str, int] = {}
        for flat in await self._read(keys=keys, args=[]):
            pairs = [v.decode() if isinstance(v, bytes) else str(v) for v in flat]
            for name, value in zip(pairs[::2], pairs[1::2], strict=True):
                totals[name] = totals.get(name, 0) + int(value)
        return _summary(account, self.minutes, totals)


def _summary(account: str, minutes: float, totals: dict[str, int]) -> AccountHealth:
    requests = totals.get("n", 0)
    histogram = [totals.get(f"l{i}", 0) for i in range(len(LATENCY_BOUNDS_MS) + 1)]
    latency = {f"p{q}": _percentile(histogram, q / 100) for q in (50, 95, 99)}
    latency["avg"] = round(totals.get("ms", 0) / requests, 1) if requests else 0.0
    return AccountHealth(
        account=account,
        minutes=minutes,
        requests=requests,
        kinds={kind: totals.get(kind, 0) for kind in KINDS},
        latency_ms=latency,
        rate_limit_waits=totals.get("waits", 0),
        rate_limit_wait_s=totals.get("wait_ms", 0) / 1000,
    )


def _percentile(histogram: list[int], q: float) -> float:
    """The upper bound of the bucket holding the q-th request (an over-estimate by at most
    one bucket; exact enough to tell 100 ms from 5 s)."""
    total = sum(histogram)
    if not total:
        return 0.0
    rank, seen = q * total, 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            bounds = LATENCY_BOUNDS_MS
            return float(bounds[index] if index < len(bounds) else bounds[-1] * 2)
    return float(LATENCY_BOUNDS_MS[-1] * 2)  # pragma: no cover
