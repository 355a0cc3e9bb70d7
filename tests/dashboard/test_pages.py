"""What the dashboard shows after a real campaign, on PostgreSQL and SQLite: the list, the
campaign page (batches, errors by reason, recipients by status, webhooks) and the queues."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import quote

import httpx

from disparo.campaigns.models import Campaign, CampaignStatus
from disparo.db.base import utcnow
from disparo.devstack import DevStack
from disparo.providers.registry import ALL_QUEUES
from disparo.queues.names import QueueName
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, sign_in
from tests.e2e.helpers import CAMPAIGN, dispatch, wait_final


async def _finished_campaign(stack_factory: StackFactory) -> DevStack:
    """32 recipients, 2 of them invalid, in batches of 10; the provider refuses one batch."""
    stack = await stack_factory(cda_batch_size=10)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 32)
    rows[4]["telefone"] = "abc"
    rows[6]["telefone"] = rows[0]["telefone"]
    stack.wordpress.add_campaign(CAMPAIGN, rows)
    stack.cda.fail_next(422, body={"success": False, "message": "lote recusado pelo teste"})
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    await wait_final(stack, CAMPAIGN, webhooks=2)
    return stack


async def test_campaign_list_and_page_show_what_happened(stack_factory: StackFactory) -> None:
    stack = await _finished_campaign(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        listed = (await client.get("/dashboard/api/campaigns")).json()
        [item] = listed["items"]
        assert (item["agendamento_id"], item["status"], item["provider"]) == (
            CAMPAIGN,
            "COMPLETED",
            "CDA",
        )
        # 30 valid recipients in 3 batches of 10; one batch was refused.
        assert (item["sent"], item["failed"], item["skipped"], item["unknown"]) == (
            "20",
            "10",
            "2",
            "0",
        )
        assert item["percent"] == "100%" and listed["counts"] == {"COMPLETED": 1}
        page = await client.get("/dashboard")
        assert CAMPAIGN in page.text and "COMPLETED" in page.text

        campaign = await client.get(f"/dashboard/campaigns/{CAMPAIGN}")
        assert campaign.status_code == 200
        html = campaign.text
        assert "lote recusado pelo teste" in html  # the refused batch's error, grouped
        assert "telefone repetido na campanha" in html  # a skip reason
        assert "enviado" in html and "processando" in html  # webhooks to WordPress
        live = (await client.get(f"/dashboard/api/campaigns/{item['id']}")).json()
        # The workers send the three at once: any of them may have met the refusal.
        assert sorted(b["status"] for b in live["batches"]) == ["FAILED", "SENT", "SENT"]
        assert [b["sequence"] for b in live["batches"]] == [0, 1, 2]
        assert live["batch_counts"] == {"FAILED": 1, "SENT": 2}


async def test_recipients_filter_by_status(stack_factory: StackFactory) -> None:
    stack = await _finished_campaign(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        skipped = await client.get(f"/dashboard/campaigns/{CAMPAIGN}?recipients=SKIPPED")
        body = skipped.text.split('id="recipients"')[1]
        assert body.count("badge status-SKIPPED") == 2
        assert "badge status-SENT" not in body
        failed = await client.get(f"/dashboard/campaigns/{CAMPAIGN}?recipients=failed")
        assert failed.text.split('id="recipients"')[1].count("badge status-FAILED") == 10
        sent = await client.get(f"/dashboard/campaigns/{CAMPAIGN}?recipients=SENT")
        assert sent.text.split('id="recipients"')[1].count("badge status-SENT") == 20


async def _add_campaigns(stack: DevStack, count: int) -> None:
    start = utcnow() - timedelta(days=1)
    async with stack.runtime.sessions() as session, session.begin():
        session.add_all(
            Campaign(
                id=uuid.uuid4(),
                agendamento_id=f"C{index:08d}",
                provider="CDA" if index % 3 else "GOSAC",
                status=CampaignStatus.COMPLETED if index % 2 else CampaignStatus.FAILED,
                # Some share a creation time: the page order must still be total.
                created_at=start + timedelta(seconds=index // 2),
            )
            for index in range(count)
        )


async def _walk(client: httpx.AsyncClient, query: str) -> list[str]:
    seen: list[str] = []
    url = f"/dashboard/api/campaigns?{query}"
    for _ in range(10):  # never loops forever on a cursor that does not advance
        page = (await client.get(url)).json()
        assert len(page["items"]) <= 50
        seen += [item["agendamento_id"] for item in page["items"]]
        if page["next"] is None:
            return seen
        url = f"/dashboard/api/campaigns?{query}&before={quote(page['next'])}"
    raise AssertionError(f"more than 10 pages: {seen[:5]}…")


async def test_campaign_pages_cover_every_campaign_once_newest_first(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    await _add_campaigns(stack, 130)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        everything = await _walk(client, "")
        assert len(everything) == len(set(everything)) == 130
        assert everything[0] in ("C00000128", "C00000129")
        assert everything[-1] in ("C00000000", "C00000001")
        failed_cda = await _walk(client, "status=FAILED&provider=cda")
        expected = {f"C{i:08d}" for i in range(130) if i % 2 == 0 and i % 3}
        assert set(failed_cda) == expected and len(failed_cda) == len(expected)
        counts = (await client.get("/dashboard/api/campaigns?provider=GOSAC")).json()["counts"]
        assert counts == {"COMPLETED": 22, "FAILED": 22}
        broken = await client.get("/dashboard?before=not-a-cursor")
        assert broken.status_code == 200 and "not valid any more" in broken.text


async def test_queues_page_counts_every_queue(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    await dispatch(stack, CAMPAIGN)  # no worker: its dispatch job waits
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        data = (await client.get("/dashboard/api/queues")).json()
        assert set(data["queues"]) == set(ALL_QUEUES) >= {str(name) for name in QueueName}
        assert data["queues"]["dispatch-campaign"]["waiting"] == 1
        assert data["queues"]["cda-send"] == {
            "waiting": 0,
            "active": 0,
            "delayed": 0,
            "failed": 0,
            "completed": 0,
        }
        page = await client.get("/dashboard/queues")
        assert "dispatch-campaign" in page.text and "Webhooks waiting for WordPress" in page.text
        assert data["dead_letters"] == 0 and data["outbox_pending"] == 0


async def test_an_unknown_campaign_is_a_clear_404(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = await client.get("/dashboard/campaigns/C-nope")
        assert page.status_code == 404 and "No such campaign" in page.text
        data = await client.get("/dashboard/api/campaigns/C-nope")
        assert data.status_code == 404


async def test_second_steps_show_when_they_are_due(stack_factory: StackFactory) -> None:
    """A two-step provider's follow-up (GOSAC start, Marketing Cloud) waits for its due time."""
    from disparo.campaigns.models import BatchStatus, BatchStep, ProviderBatch
    from tests.e2e.helpers import ingested_campaign

    stack, campaign_id = await ingested_campaign(stack_factory, count=3)
    due = utcnow() + timedelta(minutes=2)
    async with stack.runtime.sessions() as session, session.begin():
        session.add(
            ProviderBatch(
                campaign_id=campaign_id,
                step=BatchStep.START,
                sequence=0,
                status=BatchStatus.WAITING,
                message_count=3,
                due_at=due,
            )
        )
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = (await client.get(f"/dashboard/campaigns/{campaign_id}")).text
    steps = page.split("<h2>Second steps</h2>")[1].split("</section>")[0]
    assert "start" in steps and "WAITING" in steps
    assert due.strftime("%Y-%m-%d %H:%M:%S") in steps
