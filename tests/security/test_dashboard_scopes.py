"""Every door keeps its own key: `dashboard` opens the dashboard, and what a session may then
see or do is what its key may do on the API (`read` for pages, `operate` for actions),
judged on each request from the key as configured now."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import SecretStr

from disparo.campaigns.models import Campaign
from disparo.devstack import DevStack
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, csrf_of, sign_in
from tests.e2e.helpers import ingested_campaign

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

VIEWER = "viewer-only-dashboard-key-0123456789abcdef"
READER = "reader-dashboard-key-0123456789abcdef"
OPS = "ops-dashboard-key-0123456789abcdef"
KEYS = [
    SecretStr(API_KEY),
    SecretStr(f"viewer:dashboard:{VIEWER}"),
    SecretStr(f"reader:dashboard+read:{READER}"),
    SecretStr(f"ops:dashboard+read+operate:{OPS}"),
]


async def _status(stack: DevStack, campaign_id: uuid.UUID) -> str:
    async with stack.runtime.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        return str(campaign.status)


async def _cancel(client: httpx.AsyncClient, campaign_id: uuid.UUID, html: str) -> httpx.Response:
    url = f"/dashboard/campaigns/{campaign_id}/cancel"
    return await client.post(url, data={"csrf_token": csrf_of(html)})


async def test_a_dashboard_only_key_sees_nothing_and_changes_nothing(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=5, api_keys=KEYS)
    before = await _status(stack, campaign_id)
    async with httpx.AsyncClient(base_url=stack.api.url) as api:
        api_cancel = await api.post(
            f"/campaigns/{campaign_id}/cancel", headers={"X-API-KEY": VIEWER}
        )
        assert api_cancel.status_code == 403
    async with browser(stack) as client:
        assert (await sign_in(client, VIEWER)).status_code == 303
        for page in ("/dashboard", "/dashboard/queues", "/dashboard/audit"):
            refused = await client.get(page)
            assert refused.status_code == 403, page
            assert "named viewer" in refused.text and "no read scope" in refused.text
        campaign = await client.get(f"/dashboard/campaigns/{campaign_id}")
        assert campaign.status_code == 403 and str(campaign_id) not in campaign.text
        listing = await client.get("/dashboard/api/campaigns")
        assert listing.status_code == 403 and "no read scope" in listing.json()["message"]
        confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/cancel")
        assert confirm.status_code == 403
        # The refusal page still carries the session's token (its sign-out form): even with
        # it, the action is refused.
        assert (await _cancel(client, campaign_id, confirm.text)).status_code == 403
        signed_out = await client.post(
            "/dashboard/logout", data={"csrf_token": csrf_of(confirm.text)}
        )
        assert signed_out.status_code == 303
    assert await _status(stack, campaign_id) == before


async def test_a_read_key_sees_the_pages_but_is_offered_and_allowed_no_action(
    stack_factory: StackFactory,
) -> None:
    stack, campaign_id = await ingested_campaign(stack_factory, count=5, api_keys=KEYS)
    before = await _status(stack, campaign_id)
    async with browser(stack) as client:
        await sign_in(client, READER)
        page = await client.get(f"/dashboard/campaigns/{campaign_id}")
        assert page.status_code == 200 and "/confirm/" not in page.text
        assert (await client.get("/dashboard/api/queues")).status_code == 200
        confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/cancel")
        assert confirm.status_code == 403 and "no operate scope" in confirm.text
        refused = await _cancel(client, campaign_id, page.text)
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
    assert await _status(stack, campaign_id) == before


async def test_a_scope_taken_from_a_key_applies_to_its_open_session(
    stack_factory: StackFactory,
) -> None:
    # A fixed dashboard secret: the development one is derived from the keys, so changing
    # any key would sign everyone out and only the sign-in check would be seen.
    secret = SecretStr("fixed-secret")
    stack, campaign_id = await ingested_campaign(
        stack_factory, count=5, api_keys=list(KEYS), dashboard_secret=secret
    )
    before = await _status(stack, campaign_id)
    settings = stack.runtime.settings
    async with browser(stack) as client:
        await sign_in(client, OPS)
        confirm = await client.get(f"/dashboard/campaigns/{campaign_id}/confirm/cancel")
        assert confirm.status_code == 200
        settings.api_keys[-1] = SecretStr(f"ops:dashboard+read:{OPS}")  # operate taken
        assert (await _cancel(client, campaign_id, confirm.text)).status_code == 403
        assert (await client.get(f"/dashboard/campaigns/{campaign_id}")).status_code == 200
        settings.api_keys[-1] = SecretStr(f"ops:dashboard:{OPS}")  # read taken too
        assert (await client.get("/dashboard")).status_code == 403
        settings.api_keys[-1] = SecretStr(f"ops:dashboard+read+operate:{OPS}")  # given back
        assert (await _cancel(client, campaign_id, confirm.text)).status_code == 303
    assert before != "CANCELLED" and await _status(stack, campaign_id) == "CANCELLED"
