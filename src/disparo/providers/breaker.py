"""The circuit breaker of each provider account, shared by every worker of every host.

closed: requests go. Each judged request's verdict joins the account's window (the last
  `breaker_window` verdicts, a Redis list): "ok" when the provider acted (accepted, or a 4xx
  refusal: it read the request), else the kind of failure before it could act ("connection",
  "5xx", "timeout" of a connect). A 429, an unknown outcome or our own crash is no verdict.
  More than `breaker_failure_ratio` failures among at least `breaker_min_requests` opens it.
open: no request goes until `breaker_cooldown` has passed; then one probe at a time (a lock
  with a TTL, so a probe whose worker died frees the way), a real batch send. The probe's
  success closes the breaker; anything else reopens it for another cool-down.
held: an operator stopped the account; only `resume` ends it. The state hash has no expiry,
  and the database keeps the hold too (campaigns.models.ProviderHold): the reconciler puts
  back a hold Redis lost.

Nothing here fails a batch: a caller told to wait leaves its batch PENDING (batches.defer),
costing it no attempt. Times come from `clock` (tests move it), passed to the scripts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from disparo.providers.policy import ProviderPolicy

# Seconds since the epoch; replaced by tests that move time.
clock: Callable[[], float] = time.time

OK = "ok"
# An idle account's window is forgotten after this long (bounded memory); open and held
# states are kept until they end.
WINDOW_TTL_MS = 3_600_000
# How soon a batch of a held account looks again: rarely, since `resume` wakes the waiting
# batches itself (this only bounds the wait should that wake-up be lost).
HELD_RECHECK_S = 300.0

# KEYS: window, state, probe. ARGV: verdict ('' = none), token of the probe ('' = not one),
# window size, ratio, min requests, cool-down ms, now ms, the window's TTL ms.
_RECORD = """
local verdict, token = ARGV[1], ARGV[2]
local size, ratio, min = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local cooldown, now = tonumber(ARGV[6]), tonumber(ARGV[7])
if verdict ~= '' and size > 0 then
  redis.call('LPUSH', KEYS[1], verdict)
  redis.call('LTRIM', KEYS[1], 0, size - 1)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[8]))
end
local state = redis.call('HGET', KEYS[2], 'state') or 'closed'
if state == 'held' then return state end
if token ~= '' and redis.call('GET', KEYS[3]) == token then
  redis.call('DEL', KEYS[3])
  if state == 'open' then
    if verdict == 'ok' then
      redis.call('DEL', KEYS[1], KEYS[2])
      return 'closed'
    end
    redis.call('HSET', KEYS[2], 'until', now + cooldown, 'probes', 1 +
      tonumber(redis.call('HGET', KEYS[2], 'probes') or '0'))
    return 'open'
  end
end
if state ~= 'closed' or verdict == '' or verdict == 'ok' or size == 0 then return state end
local seen = redis.call('LRANGE', KEYS[1], 0, -1)
local failed = 0
for _, v in ipairs(seen) do if v ~= 'ok' then failed = failed + 1 end end
if #seen >= min and failed > ratio * #seen then
  redis.call('HSET', KEYS[2], 'state', 'open', 'since', now, 'until', now + cooldown,
    'window', table.concat(seen, ','), 'probes', 0)
  return 'open'
end
return 'closed'
"""

# KEYS: state, probe. ARGV: token, probe TTL ms, now ms, cool-down ms. Returns {wait ms,
# is probe}: wait -1 = held. While a probe is out, the others ask again after a cool-down
# (or sooner, when the probe's lock runs out first), not after the lock's whole TTL.
_ADMIT = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {0, 0} end
if state == 'held' then return {-1, 0} end
local wait = tonumber(redis.call('HGET', KEYS[1], 'until')) - tonumber(ARGV[3])
if wait > 0 then return {wait, 0} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, 1} end
return {math.max(1, math.min(redis.call('PTTL', KEYS[2]), tonumber(ARGV[4]))), 0}
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Admission:
    """May a request of the account leave? `wait` 0: yes (as the probe, with its `token`,
    when `probe`); else the seconds before asking again."""

    wait: float
    probe: bool = False
    token: str = ""
    held: bool = False


@dataclass(frozen=True, slots=True)
class BreakerState:
    account: str
    state: str  # closed, open, held
    since: datetime | None = None
    until: datetime | None = None  # open: when the next probe may go
    window: tuple[str, ...] = ()  # open: the verdicts that opened it, newest first
    probes: int = 0  # open: probes failed since it opened
    held_by: str = ""

    @property
    def summary(self) -> str:
        """ "CDA account X paused since 14:02: 12/20 connection errors" (the operator's line)."""
        provider = self.account.partition(":")[0]
        if self.state == "closed":
            return f"{provider} account {self.account} sending"
        since = f" since {self.since:%H:%M} UTC" if self.since else ""
        if self.state == "held":
            return f"{provider} account {self.account} held{since} by {self.held_by or '?'}"
        return f"{provider} account {self.account} paused{since}: {self.failures_text}"

    @property
    def failures_text(self) -> str:
        """ "12/20 connection errors, 3/20 5xx errors": the window that opened it."""
        failed = [verdict for verdict in self.window if verdict != OK]
        kinds = sorted(set(failed), key=lambda kind: (-failed.count(kind), kind))
        total = len(self.window)
        text = ", ".join(f"{failed.count(kind)}/{total} {kind} errors" for kind in kinds)
        if self.probes:
            text += f"; {self.probes} probe(s) failed since"
        return text or "no failures recorded"


def verdict_of(kind: str) -> str:
    """The breaker's verdict on a request of health.kind_of's `kind` ('' = none)."""
    if kind in ("ok", "4xx"):
        return OK
    if kind in ("5xx", "connection"):
        return kind
    return ""  # 429 (the limiter's business), unknown outcomes, timeouts, our own crashes


class CircuitBreaker:
    def __init__(self, client: Any, prefix: str, probe_ttl: float) -> None:
        self._client = client
        self._prefix = prefix
        self._probe_ttl_ms = int(probe_ttl * 1000)
        self._record = client.register_script(_RECORD)
        self._admit = client.register_script(_ADMIT)
        self._release = client.register_script(_RELEASE)

    def _keys(self, account: str) -> list[str]:
        base = f"{self._prefix}:disparo-breaker:{{{account}}}"
        return [f"{base}:window", f"{base}:state", f"{base}:probe"]

    @property
    def _index(self) -> str:
        # One key on its own (single-key commands only): the accounts not closed.
        return f"{self._prefix}:disparo-breaker:stopped"

    async def admit(self, account: str, policy: ProviderPolicy) -> Admission:
        if policy.breaker_window <= 0:
            return Admission(0.0)
        token = uuid.uuid4().hex
        _, state, probe = self._keys(account)
        wait_ms, is_probe = await self._admit(
            keys=[state, probe],
            args=[token, self._probe_ttl_ms, _now_ms(), int(policy.breaker_cooldown * 1000)],
        )
        if int(wait_ms) < 0:
            return Admission(HELD_RECHECK_S, held=True)
        if int(is_probe):
            return Admission(0.0, probe=True, token=token)
        return Admission(int(wait_ms) / 1000)

    async def record(
        self, account: str, policy: ProviderPolicy, verdict: str, token: str = ""
    ) -> str:
        """Add a request's verdict ('' = none); `token`: it was the probe. Returns the
        state now."""
        args = [
            verdict,
            token,
            policy.breaker_window,
            policy.breaker_failure_ratio,
            policy.breaker_min_requests,
            int(policy.breaker_cooldown * 1000),
            _now_ms(),
            WINDOW_TTL_MS,
        ]
        state = _text(await self._record(keys=self._keys(account), args=args))
        if state != "closed":
            await self._client.sadd(self._index, account)
        elif token:
            await self._client.srem(self._index, account)
        return state

    async def release(self, account: str, token: str) -> None:
        """A probe that sent nothing (its claim lost, a rate-limit wait): let another go."""
        await self._release(keys=[self._keys(account)[2]], args=[token])

    async def hold(self, account: str, actor: str) -> None:
        _, state, probe = self._keys(account)
        await self._client.hset(
            state, mapping={"state": "held", "since": _now_ms(), "held_by": actor[:64]}
        )
        await self._client.delete(probe)
        await self._client.sadd(self._index, account)

    async def resume(self, account: str) -> None:
        """Closed, with an empty window (the failures that opened it are forgiven)."""
        await self._client.delete(*self._keys(account))
        await self._client.srem(self._index, account)

    async def stopped_accounts(self) -> list[str]:
        """Accounts open or held (with or without recent traffic)."""
        return sorted(_text(name) for name in await self._client.smembers(self._index))

    async def read(self, account: str) -> BreakerState:
        raw = await self._client.hgetall(self._keys(account)[1])
        found = {_text(k): _text(v) for k, v in raw.items()}
        if not found.get("state"):
            return BreakerState(account, "closed")
        return BreakerState(
            account,
            found["state"],
            since=_time(found.get("since")),
            until=_time(found.get("until")),
            window=tuple(filter(None, found.get("window", "").split(","))),
            probes=int(found.get("probes") or 0),
            held_by=found.get("held_by", ""),
        )


def _now_ms() -> int:
    return int(clock() * 1000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(ms: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None
