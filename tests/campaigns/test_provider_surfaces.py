"""What an operator sees of a provider account and can do to it, through the API (scopes,
audit, errors), the dashboard's Providers page and /metrics: one state, shown alike."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from disparo.campaigns.reconciler import reconcile
from disparo.devstack import DevStack
from disparo.providers import health as health_module
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, csrf_of, sign_in
from tests.e2e.helpers import api
from tests.metrics.test_metrics import _get, _scrape
from tests.support_breaker import ACCOUNT, open_account

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

READER = "reader-key-0123456789abcdef0123"
OPS = "ops-key-0123456789abcdef0123456"
KEYS = [
    SecretStr(API_KEY),
    SecretStr(f"reader:dashboard+read:{READER}"),
    SecretStr(f"ops:dashboard+read+operate:{OPS}"),
]
FLASH = re.compile(r'<p class="notice" role="status">([^<]+)</p>')


async def _stack(stack_factory: StackFactory) -> DevStack:
    stack = await stack_factory(with_worker=False, api_keys=KEYS)
    await open_account(stack)
    return stack


async def test_health_is_read_with_read_and_changed_only_with_operate(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory)
    async with api(stack, READER) as reader, api(stack, OPS) as ops:
        health = (await reader.get("/providers/health")).json()["accounts"]
        refused = await reader.post(f"/providers/{ACCOUNT}/hold")
        bad = await ops.post("/providers/no-colon/hold")
        unknown = await ops.post("/providers/CDA:nobody/hold")
        held = await ops.post(f"/providers/{ACCOUNT}/hold")
        resumed = await ops.post(f"/providers/{ACCOUNT}/resume")
        audit = (await ops.get("/audit")).json()["items"]

    [account] = health
    assert account["account"] == ACCOUNT and account["state"] == "open"
    assert re.fullmatch(
        rf"CDA account {ACCOUNT} paused since \d\d:\d\d UTC: 3/4 connection errors",
        account["summary"],
    )
    assert account["requests"] == 4 and account["errors"]["connection"] == 3
    assert account["error_rate"] == 0.75 and account["latency_ms"]["p99"] == 100
    assert refused.status_code == 403
    assert bad.status_code == 400 and "path.account" in bad.json()["message"]
    assert unknown.status_code == 404 and "desconhecida" in unknown.json()["message"]
    assert held.status_code == 200 and held.json()["state"] == "held"
    assert held.json()["held_by"] == "ops" and "held since" in held.json()["summary"]
    assert resumed.json()["state"] == "closed" and resumed.json()["woken_batches"] == 0
    actions = [(e["action"], e["outcome"], e["actor"]) for e in audit[:4]]
    assert ("provider-resume", "done", "ops") in actions
    assert ("provider-hold", "done", "ops") in actions
    assert ("provider-hold", "refused", "ops") in actions  # the unknown account


async def test_a_hold_outlives_redis_losing_it(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    async with api(stack, OPS) as ops:
        assert (await ops.post(f"/providers/{ACCOUNT}/hold")).status_code == 200
        await stack.runtime.watch.breaker.resume(ACCOUNT)  # Redis alone forgets it (a flush)
        assert await reconcile(stack.runtime) == 1  # the database's hold is put back
        assert (await stack.runtime.watch.breaker.read(ACCOUNT)).state == "held"
        assert await reconcile(stack.runtime) == 0
        await ops.post(f"/providers/{ACCOUNT}/resume")
    assert await reconcile(stack.runtime) == 0  # resumed: nothing to put back
    assert (await stack.runtime.watch.breaker.read(ACCOUNT)).state == "closed"


async def test_a_held_account_idle_for_long_is_still_listed_and_resumed(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = await _stack(stack_factory)
    async with api(stack, OPS) as ops:
        await ops.post(f"/providers/{ACCOUNT}/hold")
        later = health_module.clock() + 3600  # its requests are long out of the figures
        monkeypatch.setattr(health_module, "clock", lambda: later)
        listed = (await ops.get("/providers/health")).json()["accounts"]
        resumed = await ops.post(f"/providers/{ACCOUNT}/resume")
        after = (await ops.get("/providers/health")).json()["accounts"]
    assert [(a["account"], a["state"], a["requests"]) for a in listed] == [(ACCOUNT, "held", 0)]
    assert resumed.status_code == 200 and resumed.json()["state"] == "closed"
    assert after == []  # idle and sending: nothing to show


async def test_the_providers_page_shows_the_pause_and_its_buttons_work(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory)
    async with browser(stack) as reader:
        await sign_in(reader, READER)
        seen = await reader.get("/dashboard/providers")
        refused = await reader.post(
            f"/dashboard/providers/{ACCOUNT}/resume", data={"csrf_token": csrf_of(seen.text)}
        )
    assert seen.status_code == 200
    assert f"CDA account {ACCOUNT} paused since" in seen.text
    assert "3/4 connection errors" in seen.text and "/resume" not in seen.text  # no buttons
    assert refused.status_code == 403

    async with browser(stack) as ops:
        await sign_in(ops, OPS)
        page = await ops.get("/dashboard/providers")
        forged = await ops.post(f"/dashboard/providers/{ACCOUNT}/resume", data={})
        done = await ops.post(
            "/dashboard/providers/CDA%3A0123456789abcdef/resume",
            data={"csrf_token": csrf_of(page.text)},
        )
        after = await ops.get(done.headers["location"])
    assert forged.status_code in (400, 403)
    assert (await stack.runtime.watch.breaker.read(ACCOUNT)).state == "closed"
    flash = FLASH.search(after.text)
    assert (
        flash and flash.group(1) == f"CDA account {ACCOUNT} sending: 0 waiting batches sent again."
    )
    assert 'data-state="closed"' in after.text and ">Hold</button>" in after.text


async def test_metrics_show_each_account_state_and_figures(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    samples = await _scrape(stack)
    labels = {"provider": "CDA", "account": ACCOUNT}
    assert _get(samples, "disparo_provider_account_state", **labels, state="open") == 1
    assert _get(samples, "disparo_provider_account_state", **labels, state="closed") == 0
    assert _get(samples, "disparo_provider_account_requests", **labels, kind="connection") == 3
    assert _get(samples, "disparo_provider_account_requests", **labels, kind="ok") == 1
    assert _get(samples, "disparo_provider_account_latency_ms", **labels, quantile="p50") == 25
    assert _get(samples, "disparo_provider_account_rate_limit_waits", **labels) == 0
