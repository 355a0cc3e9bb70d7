"""Delivery receipts end to end: a campaign goes out through the Ótima simulator (RCS and
WhatsApp), which calls back the URLs it was given like the vendor would (delayed, repeated,
out of order, some never, some replies); every callback lands, and the status DTO, the
messages API and /metrics show the delivery states. The per-campaign token never shows in
a log line."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from disparo.campaigns.callback_tokens import token_for
from disparo.campaigns.models import CampaignReply
from disparo.devstack import DevStack, Ports, start_dev_stack
from disparo.logs import configure_logging
from disparo.providers.rcs_otima.dev import otima_sample_rows
from disparo.providers.whatsapp_otima.dev import sample_rows
from disparo.sim.otima_callbacks import CallbackFirer, CallbackPlan
from tests.conftest import API_KEY, make_settings
from tests.dashboard.helpers import browser, sign_in
from tests.e2e.helpers import api, campaign_rows, dispatch, wait_final
from tests.support import clean_settings

pytestmark = pytest.mark.e2e

SECRET = "segredo-dos-callbacks-0123456789"
# Rates well above a real vendor's, so that a short campaign shows every behaviour.
PLAN = CallbackPlan(
    seed=14,
    fail_rate=0.15,
    duplicate_rate=0.3,
    out_of_order_rate=0.4,
    never_rate=0.1,
    reply_rate=0.3,
)
CASES = {
    "RCS_OTIMA": ("O20250115093000", otima_sample_rows, "rcs_otima_batch_size"),
    "WHATSAPP_OTIMA": ("W20250115093000", sample_rows, "whatsapp_otima_batch_size"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging(clean_settings(log_format="json"))
    yield
    configure_logging(clean_settings(log_format="console"))


@pytest.fixture
async def stack(db_url: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[DevStack]:
    port = free_port()
    settings = make_settings(
        db_url,
        redis_prefix,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        callback_secret=SecretStr(SECRET),
        rcs_otima_batch_size=7,
        whatsapp_otima_batch_size=7,
    )
    started = await start_dev_stack(settings, Ports(api=port))
    yield started
    await started.stop()


def messages_carry_urls(requests: list[Any], token: str) -> None:
    for request in requests:
        for message in request.json["messages"]:
            assert message["url_callback_status"].endswith(f"/callbacks/otima/{token}/status")
            assert message["url_callback_mo"].endswith(f"/callbacks/otima/{token}/mo")


@pytest.mark.parametrize("provider", list(CASES))
async def test_every_callback_lands_and_shows(
    stack: DevStack,
    provider: str,
    json_logs: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agendamento, rows_of, _ = CASES[provider]
    simulator = stack.simulators[provider].simulator
    simulator.callbacks = CallbackFirer(PLAN)
    stack.wordpress.add_campaign(agendamento, rows_of(agendamento, 30))

    assert (await dispatch(stack, agendamento)).status_code == 202
    final = await wait_final(stack, agendamento, webhooks=2)
    await simulator.callbacks.drain()
    fired = simulator.callbacks.fired

    campaign_id = uuid.UUID(final["campaign_id"])
    token = token_for(stack.settings, campaign_id)
    messages_carry_urls(simulator.requests, token)
    assert fired.undelivered == 0 and fired.posts > len(fired.final)
    assert 0 < len(fired.final) < 30  # some never called back
    async with api(stack) as client:
        status = (await client.get(f"/campaigns/{campaign_id}/status")).json()
        metrics = (await client.get("/metrics")).text
    assert status["delivery"] == dict(fired.counts())
    assert {"READ", "DELIVERED", "FAILED"} <= set(status["delivery"])
    _, _, messages = await campaign_rows(stack, agendamento)
    national = {m.phone.removeprefix("55"): m for m in messages}
    for phone, state in fired.final.items():
        message = national[phone.removeprefix("55")]
        assert message.delivery_status == state
        assert message.delivery_at is not None
        assert (message.delivery_reason is not None) == (state == "FAILED")
    async with stack.runtime.sessions() as session:
        replies = await session.scalar(select(func.count()).select_from(CampaignReply))
    assert replies == len(fired.replies) > 0
    assert 'disparo_delivery_callbacks_total{status="READ"}' in metrics
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = (await client.get(f"/dashboard/campaigns/{agendamento}")).text
    for state, count in fired.counts().items():
        assert f'data-field="delivery-{state}">{count:,}</dd>' in page

    out = capsys.readouterr().out
    assert [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert token.split(".")[1] not in out  # the secret part, in no log line
    assert "/callbacks/otima/***/status" in out  # the logged request bodies, masked


async def test_without_a_public_url_nothing_is_added(
    db_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(db_url, redis_prefix, tmp_path, rcs_otima_batch_size=7)
    stack = await start_dev_stack(settings)
    try:
        agendamento = CASES["RCS_OTIMA"][0]
        stack.wordpress.add_campaign(agendamento, otima_sample_rows(agendamento, 3))
        await dispatch(stack, agendamento)
        await wait_final(stack, agendamento, webhooks=2)
        requests = stack.simulators["RCS_OTIMA"].simulator.requests
        assert all(
            "url_callback_status" not in m and "url_callback_mo" not in m
            for r in requests
            for m in r.json["messages"]
        )
    finally:
        await stack.stop()


async def test_receivers_refuse_wrong_tokens_like_an_unknown_path(stack: DevStack) -> None:
    ours, other = uuid.uuid4(), uuid.uuid4()
    good = token_for(stack.settings, ours)
    body = {"phone": "5511900000001", "status": "DELIVERED"}
    forged = [
        f"{ours.hex}.{token_for(stack.settings, other).split('.')[1]}",  # another's MAC
        f"{ours.hex}.{'A' * 32}",
        ours.hex,
        "não-é-token",
        good[:-1],
    ]
    async with httpx.AsyncClient(base_url=stack.api.url) as client:  # no X-API-KEY
        unknown = await client.post("/callbacks/otima/x/nowhere", json=body)
        for token in forged:
            for kind in ("status", "mo"):
                refused = await client.post(f"/callbacks/otima/{token}/{kind}", json=body)
                assert (refused.status_code, refused.json()) == (404, unknown.json()), token
        accepted = await client.post(f"/callbacks/otima/{good}/status", json=body)
        bad_status = await client.post(
            f"/callbacks/otima/{good}/status", json={**body, "status": "LOST"}
        )
        too_big = await client.post(
            f"/callbacks/otima/{good}/mo", content=b'{"message": "' + b"x" * 300_000 + b'"}'
        )
    assert (accepted.status_code, accepted.json()["received"]) == (200, 1)
    assert bad_status.status_code == 400 and "status" in bad_status.json()["message"]
    assert too_big.status_code == 413


async def test_a_parar_reply_stops_that_phone_in_the_next_campaign(stack: DevStack) -> None:
    """Issue 15's end to end: "Parar" through the Ótima MO callback suppresses the phone, so
    the next campaign skips it as opt-out and never sends it."""
    first, rows_of, _ = CASES["RCS_OTIMA"]
    simulator = stack.simulators["RCS_OTIMA"].simulator
    stack.wordpress.add_campaign(first, rows_of(first, 10))
    assert (await dispatch(stack, first)).status_code == 202
    final = await wait_final(stack, first, webhooks=2)
    _, _, messages = await campaign_rows(stack, first)
    phone = sorted(messages, key=lambda m: m.row_index)[3].phone
    token = token_for(stack.settings, uuid.UUID(final["campaign_id"]))

    async with api(stack, key="") as vendor:
        reply = {"phone": phone, "message": "  Parar! ", "date": "2025-01-15 12:31:40"}
        assert (await vendor.post(f"/callbacks/otima/{token}/mo", json=reply)).status_code == 200
    async with api(stack) as client:
        listed = (await client.get("/suppressions", params={"phone": phone})).json()
    assert [(s["phone"], s["source"], s["reason"]) for s in listed["items"]] == [
        (phone, "reply", "Parar!")
    ]

    second = "O20250116093000"
    stack.wordpress.add_campaign(second, rows_of(second, 10))
    sent_before = len(simulator.requests)
    assert (await dispatch(stack, second)).status_code == 202
    await wait_final(stack, second, webhooks=2)
    _, _, messages = await campaign_rows(stack, second)
    skipped = {m.phone: m.skip_reason for m in messages if m.skip_reason}
    assert skipped == {phone: "opt-out"}
    sent = [m["phone"] for r in simulator.requests[sent_before:] for m in r.json["messages"]]
    assert len(sent) == 9 and phone.removeprefix("55") not in {p.removeprefix("55") for p in sent}
