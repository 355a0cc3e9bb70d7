"""How a simulated Ótima calls back the URLs it was given (url_callback_status and
url_callback_mo, CONTRACTS 5.5's ASSUMED bodies), like a real vendor: each message gets SENT,
then DELIVERED (or FAILED), then perhaps READ, each after a short delay; some get a repeat,
some arrive newest first, some never come; some recipients reply. Each message's fate is
drawn from a generator seeded by the plan's seed and its phone, so it is the same whatever
order concurrent batches reach the simulator in, and a test knows what must land.

Only loopback URLs are called: a simulator never posts to a host on the network.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

VENDOR_ZONE = timezone(timedelta(hours=-3))  # the vendor's dates: Brasília time, no zone
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_POST_ATTEMPTS = 5


@dataclass
class CallbackPlan:
    seed: int = 0
    fail_rate: float = 0.05  # FAILED instead of DELIVERED
    read_rate: float = 0.5  # delivered ones then READ
    duplicate_rate: float = 0.1  # one of its callbacks sent twice
    out_of_order_rate: float = 0.2  # its callbacks sent newest first
    never_rate: float = 0.05  # no callback at all
    reply_rate: float = 0.1  # the recipient answers (an MO callback)
    max_delay: float = 0.02  # seconds before each callback, drawn in [0, max_delay]


@dataclass
class FiredCallbacks:
    """What the simulator sent, for tests: the final status of each phone it reported
    on (as the vendor knows the phone), and the replies."""

    final: dict[str, str] = field(default_factory=dict)
    replies: list[tuple[str, str]] = field(default_factory=list)
    posts: int = 0
    undelivered: int = 0  # posts never answered 2xx after every attempt

    def counts(self) -> Counter[str]:
        return Counter(self.final.values())


def _callable(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK


class CallbackFirer:
    def __init__(self, plan: CallbackPlan | None = None) -> None:
        self.plan = plan or CallbackPlan()
        self.fired = FiredCallbacks()
        self._tasks: set[asyncio.Task[None]] = set()

    def message_accepted(self, message: dict[str, Any], phone: str, outcome: str) -> None:
        """`outcome`: DELIVERED, or FALLBACK (reached by the provider's SMS instead)."""
        status_url, mo_url = message.get("url_callback_status"), message.get("url_callback_mo")
        rng = random.Random(f"{self.plan.seed}:{phone}")
        if _callable(status_url):
            self._start(self._statuses(rng, str(status_url), message, phone, outcome))
        if _callable(mo_url) and rng.random() < self.plan.reply_rate:
            text = rng.choice(["SAIR", "Obrigado", "Quem é?", "PARAR"])
            self.fired.replies.append((phone, text))
            body = {"phone": phone, "message": text, "date": _vendor_date(2)}
            self._start(self._post_all(rng, str(mo_url), [body]))

    async def drain(self) -> None:
        """Wait until every callback planned so far was sent (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _statuses(
        self, rng: random.Random, url: str, message: dict[str, Any], phone: str, outcome: str
    ) -> Coroutine[Any, Any, None]:
        plan = self.plan
        if rng.random() < plan.never_rate:
            return self._post_all(rng, url, [])
        if outcome == "DELIVERED" and rng.random() < plan.fail_rate:
            outcome = "FAILED"
        steps = ["SENT", outcome]
        if outcome == "DELIVERED" and rng.random() < plan.read_rate:
            steps.append("READ")
        base = {"phone": phone, "document": message.get("document", "")}
        bodies = [base | {"status": s, "date": _vendor_date(n)} for n, s in enumerate(steps)]
        for body in bodies:
            if body["status"] == "FAILED":
                body["reason"] = "Número inativo"
        self.fired.final[phone] = steps[-1]
        if rng.random() < plan.duplicate_rate:
            bodies.append(dict(rng.choice(bodies)))
        if rng.random() < plan.out_of_order_rate:
            bodies.reverse()
        return self._post_all(rng, url, bodies)

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_all(self, rng: random.Random, url: str, bodies: list[dict[str, Any]]) -> None:
        """One message's callbacks one after the other, so their order is the order sent."""
        delays = [rng.uniform(0, self.plan.max_delay) for _ in bodies]
        if not bodies:
            return
        async with httpx.AsyncClient(timeout=10) as client:
            for body, delay in zip(bodies, delays, strict=True):
                await asyncio.sleep(delay)  # the vendor's own pace, not a clock
                await self._post(client, url, body)

    async def _post(self, client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
        for attempt in range(_POST_ATTEMPTS):
            self.fired.posts += 1
            try:
                response = await client.post(url, json=body)
                if response.is_success:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05 * (attempt + 1))  # a vendor resends what was refused
        self.fired.undelivered += 1


def _vendor_date(offset_s: int) -> str:
    when = datetime.now(VENDOR_ZONE) + timedelta(seconds=offset_s)
    return when.strftime("%Y-%m-%d %H:%M:%S")
