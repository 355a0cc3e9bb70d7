"""The rate over the last minute from real events: the sends of the batches each campaign
finished in the last 60 s, on PostgreSQL and SQLite, as the list and the page show it."""

from __future__ import annotations

from datetime import timedelta

from disparo.campaigns.models import BatchStatus, CampaignStatus
from disparo.dashboard import queries
from disparo.db.base import utcnow
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, sign_in
from tests.dashboard.seed import Batch, add_campaign

SECONDS = timedelta(seconds=1)


async def test_the_rate_counts_only_the_last_minute(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    rt = stack.runtime
    running = await add_campaign(
        rt,
        "C-RUNNING",
        "CDA",
        CampaignStatus.PROCESSING,
        [
            Batch(BatchStatus.SENT, 10, finished_ago=30 * SECONDS),
            Batch(BatchStatus.SENT, 15, finished_ago=50 * SECONDS),
            Batch(BatchStatus.SENT, 20, finished_ago=120 * SECONDS),  # before the minute
            Batch(BatchStatus.PENDING, 50),
        ],
    )
    idle = await add_campaign(
        rt, "C-IDLE", "CDA", CampaignStatus.PROCESSING,
        [Batch(BatchStatus.SENT, 10, finished_ago=300 * SECONDS), Batch(BatchStatus.PENDING, 10)],
    )  # fmt: skip
    async with rt.sessions() as session:
        found = await queries.sent_last_minute(session, [running, idle], utcnow())
    assert found == {running: 25}

    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        items = {
            i["agendamento_id"]: i
            for i in (await client.get("/dashboard/api/campaigns")).json()["items"]
        }
        assert (items["C-RUNNING"]["rate"], items["C-RUNNING"]["eta"]) == ("25/min", "2m 00s")
        assert (items["C-IDLE"]["rate"], items["C-IDLE"]["eta"]) == ("0/min", "–")
        live = (await client.get(f"/dashboard/api/campaigns/{running}")).json()["campaign"]
        assert live["rate"] == "25/min"
