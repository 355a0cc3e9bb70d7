"""The control and dead-letter routes: the same functions as the CLI, over HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, api, dispatch, ingested_campaign, wait_final

pytestmark = pytest.mark.e2e


async def test_controls_over_http(stack_factory: StackFactory) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=3)
    async with api(stack) as client:
        paused = await client.post(f"/campaigns/{CAMPAIGN}/pause")
        again = await client.post(f"/campaigns/{campaign_id}/pause")
        resumed = await client.post(f"/campaigns/{CAMPAIGN}/resume")
        cancelled = await client.post(f"/campaigns/{CAMPAIGN}/cancel")
        refused = await client.post(f"/campaigns/{CAMPAIGN}/resume")
        missing = await client.post("/campaigns/C000/cancel")
        bad_body = await client.post(
            f"/campaigns/{CAMPAIGN}/retry-failed", json={"sequences": [-1]}
        )
    async with api(stack, key="wrong") as client:
        unauthorised = await client.post(f"/campaigns/{CAMPAIGN}/cancel")

    assert paused.status_code == 200 and paused.json()["changed"] is True
    assert paused.json()["paused"] is True and again.json()["changed"] is False
    assert resumed.json()["paused"] is False and resumed.json()["batches"] == 1
    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["recipients"] == 3
    assert refused.status_code == 409 and "terminou" in refused.json()["message"]
    assert missing.status_code == 404
    assert bad_body.status_code == 400 and bad_body.json()["details"][0]["field"] == "sequences.0"
    assert unauthorised.status_code == 401


async def test_dead_letters_over_http(stack_factory: StackFactory) -> None:
    stack = await stack_factory(cda_max_attempts=1)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    stack.cda.fail_next(503)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    async with api(stack) as client:
        listed = (await client.get("/dead-letters", params={"provider": "CDA"})).json()
        no_filter = await client.post("/dead-letters/redrive", json={})
        preview = (
            await client.post("/dead-letters/redrive", json={"error": "503", "dry_run": True})
        ).json()
        batch_id = listed["items"][0]["id"]
        redriven = (await client.post(f"/dead-letters/{batch_id}/redrive")).json()
        gone = await client.post(f"/dead-letters/{batch_id}/redrive")
    final = await wait_final(stack, CAMPAIGN, webhooks=4)

    item = listed["items"][0]
    assert (item["agendamento_id"], item["recipients"], item["attempts"]) == (CAMPAIGN, 2, 1)
    assert "HTTP 503" in item["last_error"] and item["history"][-1]["outcome"] == "dead_letter"
    assert no_filter.status_code == 400
    assert (preview["matched"], preview["redriven"]) == (1, 0)
    assert (redriven["redriven"], redriven["recipients"]) == (1, 2)
    assert gone.status_code == 404
    assert final["sent_messages"] == 2
