"""A provider down for a while (seconds here, minutes in life): the account's circuit
breaker opens after a few failures, its batches wait PENDING without spending attempts,
one probe at a time tests it, and once the provider is back every recipient is sent
exactly once (the CDA simulator records every request)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from disparo.campaigns.batches import WAITING_OUTCOME
from disparo.campaigns.models import BatchAttempt, BatchStatus
from disparo.devstack import DevStack
from disparo.http_server import start_server
from tests.conftest import StackFactory, wait_for
from tests.dashboard.helpers import browser, sign_in
from tests.e2e.helpers import CAMPAIGN, api, campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e

RECIPIENTS, BATCH = 40, 5
OUTAGE_S = 10.0  # "two minutes", scaled down with the cool-down and backoff below
BREAKER = {"breaker_window": 4, "breaker_min_requests": 4, "breaker_cooldown": 1.0}
# Three attempts: the outage outlasts them many times over, and no batch may end a dead letter
# (the probes' failures spend none). The run without the breaker needs more to survive it.
RETRIES = {"base_delay": 0.2, "max_delay": 0.5, "jitter": 0.0, "max_attempts": 3}


async def _outage_stack(stack_factory: StackFactory, breaker: dict[str, Any]) -> DevStack:
    stack = await stack_factory(
        cda_batch_size=BATCH,
        provider_policies={"CDA": {**RETRIES, **breaker}},
        reconcile_interval=0.3,
        reconcile_grace=0.1,
    )
    stack.wordpress.seed_campaign(CAMPAIGN, RECIPIENTS)
    stack.cda.go_down(503)
    return stack


def _phones_accepted(stack: DevStack) -> Counter[str]:
    accepted = [r for r in stack.cda.requests if r.response_status == 200]
    return Counter(line.split(";")[1] for r in accepted for line in r.json["mensagens"])


async def _outage_then_recovery(stack: DevStack) -> int:
    """Dispatch during the outage, end it after OUTAGE_S; the requests it cost."""
    await dispatch(stack, CAMPAIGN)
    await asyncio.sleep(OUTAGE_S)  # the outage's length itself, not a clock
    during = len(stack.cda.requests)
    stack.cda.come_back()
    print(f"requests during the outage: {during}")
    return during


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_an_outage_costs_a_few_probes_and_nothing_is_lost_or_sent_twice(
    stack_factory: StackFactory,
) -> None:
    stack = await _outage_stack(stack_factory, BREAKER)
    during = await _outage_then_recovery(stack)

    final = await wait_final(stack, CAMPAIGN, webhooks=2, timeout=60)
    assert final["status"] == "COMPLETED" and final["sent_messages"] == RECIPIENTS
    phones = _phones_accepted(stack)
    assert len(phones) == RECIPIENTS and set(phones.values()) == {1}  # each exactly once
    # Opening takes the window's 4 failures (plus what was in flight: 4 workers); then one
    # probe per cool-down at most. Without the breaker this is ~100 (see the test below).
    assert during <= 4 + 4 + OUTAGE_S / BREAKER["breaker_cooldown"] + 2, during

    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert {batch.status for batch in batches} == {BatchStatus.SENT}
    async with stack.runtime.sessions() as session:
        outcomes = set(await session.scalars(select(BatchAttempt.outcome)))
    assert WAITING_OUTCOME in outcomes  # batches waited for the account, as their history says
    # Only the failures before it opened spent attempts: waiting and probes spent none.
    spent = [batch.attempts - batch.uncounted_attempts for batch in batches]
    assert sum(spent) <= 4 + 4 + len(batches), spent  # those failures + each batch's SENT try


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_without_the_breaker_the_same_outage_costs_many_retries(
    stack_factory: StackFactory,
) -> None:
    # Backoff kept short (the breaker run's is 0.2-0.5 s), so the retries' count shows the
    # breaker's saving rather than the delayed jobs' pickup time on a slow machine.
    no_breaker = {"breaker_window": 0, "max_attempts": 200, "base_delay": 0.1, "max_delay": 0.2}
    stack = await _outage_stack(stack_factory, no_breaker)
    during = await _outage_then_recovery(stack)
    await wait_final(stack, CAMPAIGN, webhooks=2, timeout=60)
    assert during > 2.5 * (4 + 4 + OUTAGE_S / BREAKER["breaker_cooldown"] + 2), during
    phones = _phones_accepted(stack)
    assert len(phones) == RECIPIENTS and set(phones.values()) == {1}


async def _health(stack: DevStack) -> dict[str, Any]:
    async with api(stack) as client:
        response = await client.get("/providers/health")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_operator_sees_the_paused_account_and_holds_and_resumes_it(
    stack_factory: StackFactory,
) -> None:
    stack = await _outage_stack(stack_factory, {**BREAKER, "breaker_cooldown": 600.0})
    await dispatch(stack, CAMPAIGN)

    async def paused() -> bool:
        accounts = (await _health(stack))["accounts"]
        return any(account["state"] == "open" for account in accounts)

    await wait_for(paused, timeout=30)
    account = next(a for a in (await _health(stack))["accounts"] if a["state"] == "open")
    assert account["summary"].startswith(f"CDA account {account['account']} paused since ")
    assert "/4 5xx errors" in account["summary"]
    assert account["requests"] >= 4 and account["errors"]["5xx"] >= 4

    async def waiting_status() -> bool:
        async with api(stack) as client:
            body = (await client.get(f"/campaigns/{CAMPAIGN}/status")).json()
        return "paused since" in (body.get("waiting_for") or "")

    await wait_for(waiting_status, timeout=30)
    async with browser(stack) as page:
        await sign_in(page, stack.api_key)
        shown = (await page.get(f"/dashboard/campaigns/{CAMPAIGN}")).text
    assert 'data-field="waiting_for">aguardando o fornecedor: CDA account' in shown

    async with api(stack) as client:
        held = await client.post(f"/providers/{account['account']}/hold")
        assert held.status_code == 200, held.text
        assert held.json()["state"] == "held"
        stack.cda.come_back()
        resumed = await client.post(f"/providers/{account['account']}/resume")
        assert resumed.json()["state"] == "closed"
        # Due in ten minutes (the cool-down): woken now, or the test would time out below.
        assert resumed.json()["woken_batches"] >= 1
        missing = await client.post("/providers/CDA:nobody/resume")
        assert missing.status_code == 404
        audit = (await client.get("/audit?action=provider-hold")).json()["items"]
        assert audit and audit[0]["target"] == account["account"]

    final = await wait_final(stack, CAMPAIGN, webhooks=2, timeout=30)
    assert final["sent_messages"] == RECIPIENTS
    assert set(_phones_accepted(stack).values()) == {1}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_provider_refusing_connections_opens_it_too(stack_factory: StackFactory) -> None:
    """The simulator's port closed (connection refused, the provider never sees a request),
    then listening again on the same port: the requests are counted on our side."""
    stack = await _outage_stack(stack_factory, BREAKER)
    stack.cda.come_back()  # not a 503 this time: nobody listening at all
    running = stack.simulators["CDA"]
    await running.server.stop()
    await dispatch(stack, CAMPAIGN)
    await asyncio.sleep(OUTAGE_S / 2)  # the outage's length itself, not a clock
    [account] = (await _health(stack))["accounts"]
    assert account["state"] == "open", account
    assert "connection errors" in account["summary"]
    refused = account["errors"]["connection"]
    assert 4 <= refused <= 4 + 4 + OUTAGE_S / 2 / BREAKER["breaker_cooldown"] + 2, refused
    assert stack.cda.requests == []

    back = await start_server(running.simulator.app, port=running.server.port)
    try:
        final = await wait_final(stack, CAMPAIGN, webhooks=2, timeout=60)
    finally:
        await back.stop()
    assert final["sent_messages"] == RECIPIENTS
    phones = _phones_accepted(stack)
    assert len(phones) == RECIPIENTS and set(phones.values()) == {1}
