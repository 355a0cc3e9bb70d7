"""What an operator needs from the dashboard, in a real headless Chromium (as
test_browser.py drives it): the rate over the last minute and the ETA, 0 while paused and
"held until …" outside the send window; the live list's first campaign; a FAILED campaign's
bar, plurals, "–" and English notices; the Dead letters page and its bulk redrive; the
campaign page's parts one click from its top. One stack and one browser for the module."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from disparo.campaigns.models import BatchStatus, CampaignStatus
from disparo.db.base import utcnow
from disparo.db.scratch import scratch_database
from disparo.devstack import DevStack, start_dev_stack
from tests.conftest import API_KEY, PG_ADMIN_URL, REDIS_URL, make_settings
from tests.dashboard.seed import Batch, add_campaign
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS, LAPTOP, _shoot, shots
from tests.e2e.helpers import dispatch, status, wait_final

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
__all__ = ["shots"]  # the fixture: screenshots go where test_browser.py puts its own
DURATION = re.compile(r"^\d+(s|m \d\ds|h \d\dm)$")  # views.duration


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevStack]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    async with scratch_database(PG_ADMIN_URL, "disparo_t") as url:
        settings = make_settings(
            url,
            prefix,
            tmp_path_factory.mktemp("operator"),
            cda_batch_size=100,
            cda_max_attempts=2,
            worker_concurrency=1,
        )
        running = await start_dev_stack(settings, with_worker=True)
        try:
            yield running
        finally:
            await running.stop()
            client = aioredis.Redis.from_url(REDIS_URL)
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await client.delete(*keys)
            await client.aclose()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def signed_in(stack: DevStack) -> AsyncIterator[BrowserContext]:
    """A browser signed in once: every test's page shares its session cookie."""
    async with async_playwright() as playwright:
        chromium: Browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await chromium.new_context(viewport=LAPTOP)
        page = await context.new_page()
        await page.goto(f"{stack.api.url}/dashboard/login")
        await page.fill("#api_key", API_KEY)
        await page.click("button[type=submit]")
        await expect(page).to_have_url(f"{stack.api.url}/dashboard")
        await page.close()
        yield context
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(signed_in: BrowserContext) -> AsyncIterator[Page]:
    opened = await signed_in.new_page()
    yield opened
    await opened.close()


async def test_the_live_list_loses_its_empty_note_and_gains_the_chip(
    stack: DevStack, page: Page
) -> None:
    base = stack.api.url
    await page.goto(f"{base}/dashboard?provider=NOAH")  # no other test uses this provider
    empty = page.locator("[data-empty]")
    await expect(empty).to_be_visible()
    chip = page.locator(".chip.status-PROCESSING")
    await expect(chip).to_be_hidden()

    await add_campaign(
        stack.runtime,
        "C-NOAH-LIVE",
        "NOAH",
        CampaignStatus.PROCESSING,
        [
            Batch(BatchStatus.SENT, 10, finished_ago=timedelta(seconds=5)),
            Batch(BatchStatus.PENDING, 10),
        ],
    )
    row = page.locator("tr", has_text="C-NOAH-LIVE")
    await expect(row).to_be_visible(timeout=6_000)
    await expect(empty).to_be_hidden()
    await expect(chip).to_be_visible()
    await expect(chip.locator("b")).to_have_text("1")
    # The row the script added is the server's own markup: badge, link, figures.
    badge = row.locator(".badge")
    await expect(badge).to_have_text("PROCESSING")
    assert await badge.get_attribute("class") == "badge status-PROCESSING"
    assert (await row.locator("a").get_attribute("href") or "").startswith("/dashboard/campaigns/")
    await expect(row.locator('[data-field="rate"]')).to_have_text("10/min")
    await expect(row.locator('[data-field="eta"]')).to_have_text("1m 00s")
    await page.reload()  # and a reload shows the same row
    await expect(
        page.locator("tr", has_text="C-NOAH-LIVE").locator('[data-field="eta"]')
    ).to_have_text("1m 00s")


async def test_rate_and_eta_while_it_runs_and_zero_while_paused(
    stack: DevStack, page: Page
) -> None:
    base, key = stack.api.url, "C20250201080000"
    stack.wordpress.seed_campaign(key, 1000)
    stack.cda.delay_next(1.0, count=10)  # ten batches of 100, one a second
    await dispatch(stack, key)
    await page.goto(f"{base}/dashboard/campaigns/{key}")
    rate, eta = (
        page.locator(".summary [data-field=rate]"),
        page.locator(".summary [data-field=eta]"),
    )
    await expect(rate).to_have_text(re.compile(r"^[1-9][\d,]*/min$"), timeout=10_000)
    await expect(eta).to_have_text(DURATION)

    await page.click("a.button:text-is('Pause')")
    await page.click("button:text-is('Pause')")
    await expect(page.get_by_role("status")).to_have_text(re.compile(r"^Campaign paused: "))
    await expect(rate).to_have_text("0/min")
    await expect(eta).to_have_text("–")

    await page.click("a.button:text-is('Resume')")
    await page.click("button:text-is('Resume')")
    await expect(page.locator("h1 .badge").first).to_have_text("COMPLETED", timeout=30_000)
    await expect(eta).to_have_text("–")
    await expect(rate).to_have_text("0/min")


async def test_a_campaign_outside_its_window_says_until_when(stack: DevStack, page: Page) -> None:
    base, key = stack.api.url, "C20250201090000"
    closed = (utcnow() + timedelta(hours=12)).strftime("%H:00")
    until = (utcnow() + timedelta(hours=12)).strftime("%H:30")
    window = {"timezone": "UTC", "hours": {"mon-sun": f"{closed}-{until}"}}
    stack.wordpress.seed_campaign(key, 50)
    assert (await dispatch(stack, key, janela_envio=window)).status_code == 202
    await page.goto(f"{base}/dashboard/campaigns/{key}")
    eta = page.locator(".summary [data-field=eta]")
    await expect(eta).to_have_text(re.compile(rf"^held until \w{{3}} {closed}$"), timeout=10_000)
    await expect(page.locator(".summary [data-field=rate]")).to_have_text("0/min")
    await page.click("a.button:text-is('Cancel')")
    await page.click("button:text-is('Cancel')")
    await expect(page.get_by_role("status")).to_have_text(re.compile(r"^Campaign cancelled: "))


async def _dead_letter(stack: DevStack, key: str, recipients: int = 100) -> None:
    """A campaign of one batch that the provider answers 503 twice: a dead letter."""
    stack.wordpress.seed_campaign(key, recipients)
    stack.cda.fail_next(503, count=2)
    await dispatch(stack, key)
    await wait_final(stack, key, webhooks=2)
    assert (await status(stack, key))["status"] == "FAILED"


async def test_a_failed_campaign_plurals_dashes_and_notices(stack: DevStack, page: Page) -> None:
    base, key = stack.api.url, "C20250201100000"
    await _dead_letter(stack, key)
    await page.goto(f"{base}/dashboard")
    row = page.locator("tr", has_text=key)
    # Every recipient reached an end, nearly all failed: the bar is what was sent.
    await expect(row.locator(".percent")).to_have_text("0% sent")
    assert await row.locator("progress").get_attribute("value") == "0"
    assert await row.get_attribute("data-status") == "FAILED"

    await row.locator("a").click()
    await expect(page.locator("nav.sections")).to_contain_text("1 batch")
    await expect(page.locator("nav.sections")).to_contain_text("1 dead letter")
    batch = page.locator("table.batches tbody tr").first
    await expect(batch.locator('[data-field="reference"]')).to_have_text("–")
    never_sent = page.locator("section#recipients tbody tr").first.locator("td").nth(6)
    await expect(never_sent).to_have_text("–")  # its Sent time
    await page.click("a.button:text-is('Retry failed')")
    await expect(page.locator(".affected")).to_have_text(
        "1 batch in FAILED with 100 recipients goes back to the queue with fresh attempts."
    )
    await page.click("button:text-is('Retry failed')")
    await expect(page.get_by_role("status")).to_have_text(
        "1 batch with 100 recipients goes back to the queue."
    )
    await expect(page.locator("h1 .badge").first).to_have_text("COMPLETED", timeout=20_000)
    # A control the campaign no longer allows: refused, said in English too.
    await page.goto(f"{base}/dashboard/campaigns/{key}/confirm/cancel")
    await expect(page.locator("text=Nothing to do")).to_be_visible()


async def test_dead_letters_page_filters_and_redrives_the_ticked(
    stack: DevStack, page: Page, shots: Path
) -> None:
    base = stack.api.url
    first, second = "C20250201110000", "C20250201120000"
    await _dead_letter(stack, first)
    await _dead_letter(stack, second, 50)
    await page.goto(f"{base}/dashboard/queues")
    await page.click("a[data-field=dead_letters]")
    await expect(page).to_have_url(f"{base}/dashboard/dead-letters")
    rows = page.locator("table.dead-letters tbody tr")
    await expect(rows).to_have_count(2)

    await page.fill(".filters input[name=campaign]", first)
    await page.click("button:text-is('Filter')")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(first)
    await page.fill(".filters input[name=campaign]", "")
    await page.fill(".filters input[name=error]", "503")
    await page.click("button:text-is('Filter')")
    await expect(rows).to_have_count(2)

    for checkbox in await page.locator("input[name=ids]").all():
        await checkbox.check()
    await _shoot(page, shots, "dead-letters")
    await page.click("button:text-is('Redrive ticked…')")
    await expect(page.locator(".affected")).to_have_text(
        "2 dead letters with 150 recipients, in 2 campaigns, "
        "go back to the queue with fresh attempts."
    )
    await page.click("button:text-is('Redrive 2 batches')")
    await expect(page.get_by_role("status")).to_have_text(
        "2 dead letters (150 recipients) sent again."
    )
    await expect(page.locator(".filters input[name=error]")).to_have_value("503")  # the filter kept
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("No FAILED or UNKNOWN batches match")
    for key in (first, second):
        final = await wait_final(stack, key, webhooks=4)
        assert final["status"] == "COMPLETED"


async def test_the_campaign_pages_parts_are_one_click_from_its_top(
    stack: DevStack, page: Page, shots: Path
) -> None:
    base, key = stack.api.url, "C20250201130000"
    stack.wordpress.seed_campaign(key, 120)
    await dispatch(stack, key)
    await wait_final(stack, key, webhooks=2)
    await page.goto(f"{base}/dashboard/campaigns/{key}")
    webhooks, recipients = page.locator("section#webhooks"), page.locator("section#recipients")
    await expect(page.locator("section#recipients tbody tr")).to_have_count(50)  # paged
    await expect(webhooks).not_to_be_in_viewport()
    await _shoot(page, shots, "campaign-parts", whole=False)
    await page.click("nav.sections a[href='#webhooks']")
    await expect(page).to_have_url(re.compile("#webhooks$"))
    await expect(webhooks).to_be_in_viewport()
    await expect(webhooks).to_contain_text("enviado")
    for part in ("#steps", "#deliveries", "#errors"):
        await page.click(f"nav.sections a[href='{part}']")
        await expect(page.locator(f"section{part}")).to_be_in_viewport()
    # The recipients, the longest part, come after everything else.
    webhooks_box, recipients_box = await webhooks.bounding_box(), await recipients.bounding_box()
    assert webhooks_box and recipients_box and webhooks_box["y"] < recipients_box["y"]
    await page.click("nav.sections a[href='#recipients']")
    await page.click("#recipients a:text-is('Next »')")
    await expect(page).to_have_url(re.compile(r"after=\d+#recipients$"))
    await expect(page.locator("section#recipients tbody tr")).to_have_count(50)
