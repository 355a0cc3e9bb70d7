"""Actions on the campaign page: previewed with the numbers they will touch, refused without
the session's CSRF token, and done by the same service functions as the API."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from disparo.campaigns.models import BatchStatus, Campaign, ProviderBatch
from disparo.devstack import DevStack
from tests.conftest import API_KEY, StackFactory, wait_for
from tests.dashboard.helpers import browser, csrf_of, sign_in
from tests.e2e.helpers import CAMPAIGN, dispatch, ingested_campaign, status, wait_final

FLASH = re.compile(r'<p class="notice" role="status">([^<]+)</p>')


async def _act(client: httpx.AsyncClient, campaign_id: str, name: str) -> str:
    """Open the confirmation, press its button, return the message the campaign page shows."""
    confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/{name}")
    assert confirm.status_code == 200
    done = await client.post(
        f"/dashboard/campaigns/{campaign_id}/{name}", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    found = FLASH.search(page.text)
    assert found, "no message after the action"
    return found.group(1)


async def _dead_letter_campaign(stack_factory: StackFactory) -> tuple[DevStack, str]:
    """One batch of 30 that the provider answers 503 twice: with two attempts allowed it
    becomes a dead letter and the campaign fails."""
    stack = await stack_factory(cda_max_attempts=2)
    stack.wordpress.seed_campaign(CAMPAIGN, 30)
    stack.cda.fail_next(503, count=2)
    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert (final["status"], final["sent_messages"], final["failed_messages"]) == (
        "FAILED",
        0,
        30,
    )
    return stack, str(final["campaign_id"])


async def test_redrive_shows_the_count_first_then_sends_the_dead_letter(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await _dead_letter_campaign(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = await client.get(f"/dashboard/campaigns/{campaign_id}")
        assert f"/dashboard/campaigns/{campaign_id}/confirm/redrive" in page.text
        confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/redrive")
        assert "1 dead letter with 30 recipients" in confirm.text
        assert len(stack.cda.requests) == 2  # both refused; looking sends nothing
        queues = (await client.get("/dashboard/api/queues")).json()
        assert queues["dead_letters"] == 1

        refused = await client.post(
            f"/dashboard/campaigns/{campaign_id}/redrive", data={"csrf_token": "forged"}
        )
        assert refused.status_code == 403
        assert len(stack.cda.requests) == 2

        message = await _act(client, campaign_id, "redrive")
        assert message == "1 dead letter (30 recipients) sent again"
        await wait_for(lambda: _sent(stack, 30), timeout=30)
        assert len(stack.cda.requests) == 3
        again = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/redrive")
        assert "Nothing to do" in again.text


async def _sent(stack: DevStack, expected: int) -> bool:
    current = await status(stack, CAMPAIGN)
    return bool(current["status"] == "COMPLETED" and current["sent_messages"] == expected)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_pause_then_resume_from_the_campaign_page(stack_factory: StackFactory) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=5)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = await client.get(f"/dashboard/campaigns/{campaign_id}")
        assert "/confirm/pause" in page.text and "/confirm/resume" not in page.text
        confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/pause")
        assert "1 batch waiting stays PENDING" in confirm.text
        assert await _act(client, str(campaign_id), "pause") == (
            "Campaign paused: 1 batch waiting until you resume it."
        )
        assert await _paused(stack)
        page = await client.get(f"/dashboard/campaigns/{campaign_id}")
        assert "PAUSED" in page.text and "/confirm/resume" in page.text
        confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/resume")
        assert "1 pending batch with 5 recipients goes back to the queue" in confirm.text
        assert await _act(client, str(campaign_id), "resume") == (
            "Campaign resumed: 1 batch back in the queue."
        )
        assert not await _paused(stack)
        # Pausing what is no longer running is refused by the service, and said so.
        await _act(client, str(campaign_id), "cancel")
        done = await client.post(
            f"/dashboard/campaigns/{campaign_id}/pause",
            data={"csrf_token": csrf_of(page.text)},
        )
        shown = await client.get(done.headers["location"])
        notice = re.search(r'role="status">([^<]*)<', shown.text)
        assert notice, "no notice on the page"
        # In the dashboard's language, not the service's Portuguese ("A campanha já terminou").
        assert notice.group(1).startswith("Pause: not done, it changed meanwhile")


async def _paused(stack: DevStack) -> bool:
    async with stack.runtime.sessions() as session:
        campaign = await session.scalar(select(Campaign))
        assert campaign is not None
        batches = (await session.scalars(select(ProviderBatch))).all()
    assert all(batch.status == BatchStatus.PENDING for batch in batches)
    return campaign.paused_at is not None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_unknown_action_is_a_clear_404(stack_factory: StackFactory) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=2)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/explode")
        assert page.status_code == 404 and "No such action" in page.text


async def test_a_cancelled_campaigns_dead_letter_is_no_dead_letter_anywhere(
    stack_factory: StackFactory,
) -> None:
    """The dashboard's preview, the API's list, the metrics and the redrive all read one
    definition of a dead letter: one of a cancelled campaign counts nowhere."""
    from disparo.campaigns import controls, deadletters
    from disparo.campaigns.sending import run_send
    from disparo.dashboard import actions
    from disparo.errors import NotFound
    from disparo.observe.state import take_snapshot

    stack, campaign_id = await ingested_campaign(
        stack_factory, 2, cda_batch_size=1, cda_max_attempts=1
    )
    stack.cda.fail_next(503)
    await run_send(stack.runtime, campaign_id, 0)  # spent at once: a dead letter

    async def campaign() -> Campaign:
        async with stack.runtime.sessions() as session:
            found = await session.get(Campaign, campaign_id)
        assert found is not None
        return found

    before = await actions.preview(stack.runtime, await campaign())
    assert before.dead_letters == actions.Tally(1, 1)
    assert (await take_snapshot(stack.runtime)).dead_letters == {"CDA": 1}

    await controls.cancel_campaign(stack.runtime, CAMPAIGN)  # batch 1 was still pending

    after = await actions.preview(stack.runtime, await campaign())
    assert after.dead_letters == actions.Tally(0, 0)
    assert not actions.ACTIONS["redrive"].available(after)
    assert await deadletters.list_dead_letters(stack.runtime) == []
    assert (await take_snapshot(stack.runtime)).dead_letters == {}
    with pytest.raises(NotFound, match="não é uma mensagem morta"):
        async with stack.runtime.sessions() as session:
            batch_id = await session.scalar(
                select(ProviderBatch.id).where(ProviderBatch.dead_lettered_at.is_not(None))
            )
        assert batch_id is not None
        await deadletters.redrive_dead_letter(stack.runtime, batch_id)
