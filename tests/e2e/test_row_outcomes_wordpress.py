"""Each WordPress row's own outcome, end to end with a real WordPress: a campaign of valid,
skipped (an invalid phone, an opted-out one) and failed rows (handsets the Ótima simulator
cannot reach) goes out; WordPress gets its single-status webhook as always, which schedules
our plugin's pull of disparo's message pages (WP-Cron, wp-cron.php requested like a system
cron would); each row then holds its own outcome and reason in our plugin's table, and the
delivery receipts the simulator calls back later arrive with a deliveries pass."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from disparo.devstack import DevStack, Ports, start_dev_stack
from disparo.sim.otima_callbacks import CallbackFirer, CallbackPlan
from tests.conftest import make_settings, wait_for
from tests.e2e.helpers import api, webhooks_delivered
from tests.e2e.test_real_wordpress import WEBHOOK_SECRET, configure_wordpress, seed_rows
from tests.e2e.wordpress_cases import CASES, Row
from tests.e2e.wordpress_site import WordPressSite

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

OTIMA = next(case for case in CASES if case.name == "rcs-otima")
AGENDAMENTO = "O20250115093000"
ROWS = 10
INVALID, OPTED_OUT, UNREACHABLE = 3, 5, (7, 8)  # 1-based row numbers
# Every accepted message is called back DELIVERED, half of them READ after; nothing else.
PLAN = CallbackPlan(
    seed=3, fail_rate=0, duplicate_rate=0, out_of_order_rate=0, never_rate=0, reply_rate=0
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def stack(
    db_url: str, redis_prefix: str, tmp_path: Path, wordpress: WordPressSite
) -> AsyncIterator[DevStack]:
    """disparo at a known address, so the Ótima requests carry callback URLs to it."""
    port = free_port()
    settings = make_settings(
        db_url,
        redis_prefix,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        callback_secret=SecretStr("segredo-dos-callbacks-0123456789"),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
    )
    started = await start_dev_stack(settings, Ports(api=port), wordpress_url=wordpress.url)
    yield started
    await started.stop()


def shape(row: Row, index: int) -> None:
    OTIMA.shape_row(row, index)
    if index == INVALID:
        row["telefone"] = "12"
    if index in UNREACHABLE:  # no SMS text to fall back on: the simulator cannot reach them
        template = json.loads(row["mensagem"])
        del template["fallback"]
        row["mensagem"] = json.dumps(template)


def phone_of(index: int) -> str:
    return f"55119{index:08d}"


async def test_each_row_gets_its_own_outcome_while_the_panel_keeps_its_single_status(
    stack: DevStack, wordpress: WordPressSite
) -> None:
    configure_wordpress(wordpress, stack, OTIMA)
    seed_rows(wordpress, AGENDAMENTO, OTIMA.fornecedor, ROWS, shape)
    simulator = stack.simulators["RCS_OTIMA"].simulator
    simulator.callbacks = CallbackFirer(PLAN)
    simulator.not_rcs_capable.update(phone_of(i) for i in UNREACHABLE)
    async with api(stack) as client:
        added = await client.post("/suppressions", json={"phone": phone_of(OPTED_OUT)})
        assert added.status_code in (200, 201), added.text

    assert '"ok":true' in await wordpress.wp_async("approve", AGENDAMENTO)

    async def webhooks_in() -> bool:
        rows = await wordpress.rows(AGENDAMENTO)
        return {row["status"] for row in rows} == {"enviado"} and await webhooks_delivered(stack)

    await wait_for(webhooks_in, timeout=60, interval=0.5)
    # The panel's single status, and its one-line summary, on every row as before.
    rows = await wordpress.rows(AGENDAMENTO)
    assert all("6 enviadas, 2 com falha, 2 ignoradas" in row["resposta_api"] for row in rows)

    async def pulled() -> bool:
        await wordpress.run_cron()  # the webhook scheduled the pull
        return len((await wordpress.outcomes(AGENDAMENTO))["items"]) == ROWS

    await wait_for(pulled, timeout=60, interval=0.5)
    found = await wordpress.outcomes(AGENDAMENTO)
    by_row = {int(item["row_id"]): item for item in found["items"]}
    ids = [int(row["id"]) for row in rows]
    outcomes = [(by_row[i]["outcome"], by_row[i]["reason"]) for i in ids]
    expected: list[tuple[str, str | None]] = [("sent", None)] * ROWS
    expected[INVALID - 1] = ("skipped", "telefone inválido: '5512'")  # as WordPress served it
    expected[OPTED_OUT - 1] = ("skipped", "opt-out")
    for index in UNREACHABLE:
        expected[index - 1] = ("failed", "o aparelho não recebe RCS (Ótima)")
    assert [o for o, _ in outcomes] == [o for o, _ in expected]
    for (outcome, reason), (_, want) in zip(outcomes, expected, strict=True):
        assert want is None or (reason or "").startswith(want), (outcome, reason, want)
    assert found["sync"]["phase"] == "deliveries"
    # disparo kept each WordPress row's own id (matched by id, not by place).
    async with api(stack) as client:
        page = (await client.get(f"/campaigns/{AGENDAMENTO}/messages")).json()
    assert [item["row_id"] for item in page["items"]] == ids

    # The receipts the simulator calls back arrive in disparo; the next deliveries pass
    # (hourly from WP-Cron; run now here) brings them onto the rows.
    await simulator.callbacks.drain()
    fired = simulator.callbacks.fired.final
    assert len(fired) == ROWS - 4
    await wordpress.wp_async("sync", AGENDAMENTO)
    found = await wordpress.outcomes(AGENDAMENTO)
    delivered = {
        phone_of(ids.index(int(item["row_id"])) + 1): item["delivery_status"]
        for item in found["items"]
        if item["delivery_status"]
    }
    assert delivered == {"55" + phone.removeprefix("55"): state for phone, state in fired.items()}
    assert {row["status"] for row in await wordpress.rows(AGENDAMENTO)} == {"enviado"}
