"""An account made to look down, straight through the runtime's shared watch (the real
failure path is tests/e2e/test_provider_outage.py): for the pages, commands and metrics
that only read or change the breaker."""

from __future__ import annotations

from disparo.devstack import DevStack
from disparo.providers.policy import ProviderPolicy

ACCOUNT = "CDA:0123456789abcdef"
OPENING = ProviderPolicy(breaker_window=4, breaker_min_requests=4, breaker_cooldown=600)


async def open_account(stack: DevStack, account: str = ACCOUNT) -> None:
    watch = stack.runtime.watch
    await watch.health.record_request(account, "ok", 0.08)
    await watch.breaker.record(account, OPENING, "ok")
    for _ in range(3):
        await watch.health.record_request(account, "connection", 0.01)
        await watch.breaker.record(account, OPENING, "connection")
