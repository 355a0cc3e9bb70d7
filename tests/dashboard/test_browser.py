"""The dashboard in a real headless Chromium (Debian's, driven by Playwright; no browser is
downloaded): sign in, watch a campaign run to the end without reloading, open it, pause and
resume one, redrive a dead letter. Screenshots of the main pages go to
$DISPARO_SCREENSHOTS (`make screenshots` writes docs/screenshots/) or the test's tmp dir."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from disparo.devstack import DevStack
from tests.conftest import API_KEY, StackFactory
from tests.e2e.helpers import dispatch, status, wait_final

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

CHROMIUM = "/usr/bin/chromium"  # scripts/ensure-browser.sh installs it
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DISPARO_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _shoot(page: Page, folder: Path, name: str, *, whole: bool = True) -> None:
    """`whole`: the full page; otherwise what the screen shows (long pages)."""
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=whole)
    assert path.stat().st_size > 10_000, f"{name}.png looks empty"


async def _sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/dashboard")
    await expect(page).to_have_url(f"{base}/dashboard/login?next=/dashboard")
    await page.fill("#api_key", API_KEY)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{base}/dashboard")


async def _finished(stack: DevStack, agendamento_id: str, count: int, **faults: int) -> None:
    stack.wordpress.seed_campaign(agendamento_id, count)
    if "refuse" in faults:
        stack.cda.fail_next(422, body={"success": False, "message": "Equipe sem saldo"})
    await dispatch(stack, agendamento_id)
    await wait_final(stack, agendamento_id, webhooks=2)


async def test_operator_watches_pauses_resumes_and_redrives(
    stack_factory: StackFactory, browser: Browser, shots: Path
) -> None:
    stack = await stack_factory(cda_batch_size=200, cda_max_attempts=2, worker_concurrency=1)
    base = stack.api.url
    await _finished(stack, "C20250114080000", 1200)
    await _finished(stack, "C20250114090000", 150, refuse=1)

    laptop = await browser.new_page(viewport=LAPTOP)
    await _sign_in(laptop, base)

    # A campaign starts while the list is open: it appears, moves, and ends, live.
    running = "C20250115093000"
    stack.wordpress.seed_campaign(running, 2000)
    stack.cda.delay_next(0.5, count=10)  # ten batches, one at a time: about 5 s
    await dispatch(stack, running)
    row = laptop.locator("tr", has_text=running)
    await expect(row).to_be_visible(timeout=10_000)
    seen_between = False
    for _ in range(600):
        value = int(await row.locator("progress").get_attribute("value") or 0)
        seen_between = seen_between or 0 < value < 2000
        if seen_between and not (shots / "campaigns.png").exists():
            await _shoot(laptop, shots, "campaigns")
        if await row.locator(".badge").inner_text() == "COMPLETED":
            break
        await laptop.wait_for_timeout(100)
    await expect(row.locator(".badge")).to_have_text("COMPLETED")
    await expect(row.locator(".percent")).to_have_text("100%")
    assert seen_between, "the progress bar never showed the campaign half-way"

    # Its page: the batches, the webhooks.
    await row.locator("a").click()
    await expect(laptop.locator("h1")).to_contain_text(running)
    await expect(laptop.locator("table.batches tbody tr")).to_have_count(10)
    await expect(laptop.locator("text=enviado")).to_be_visible()
    await _shoot(laptop, shots, "campaign", whole=False)

    await _pause_and_resume(stack, laptop, base)
    await _redrive(stack, laptop, base, shots)

    await laptop.goto(f"{base}/dashboard/queues")
    await expect(laptop.locator("tr", has_text="cda-send")).to_be_visible()
    await _shoot(laptop, shots, "queues")

    phone = await browser.new_page(viewport=PHONE)
    await _sign_in(phone, base)
    await _shoot(phone, shots, "campaigns-phone")
    await phone.goto(f"{base}/dashboard/campaigns/{running}")
    await _shoot(phone, shots, "campaign-phone", whole=False)


async def _pause_and_resume(stack: DevStack, page: Page, base: str) -> None:
    paused = "C20250115100000"
    stack.wordpress.seed_campaign(paused, 1000)
    stack.cda.delay_next(1.5, count=5)
    await dispatch(stack, paused)
    await page.goto(f"{base}/dashboard/campaigns/{paused}")
    await page.click("a.button:text-is('Pause')")
    await expect(page.locator(".affected")).to_contain_text("waiting stay PENDING")
    await page.click("button:text-is('Pause')")
    await expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^Campaign paused: \d+ batch")
    )
    await expect(page.locator(".badge.status-PAUSED")).to_be_visible()
    # Paused: the batch in flight finishes, nothing more leaves.
    await page.wait_for_timeout(3000)
    sent_while_paused = len(stack.cda.requests)
    await page.wait_for_timeout(2500)
    assert len(stack.cda.requests) == sent_while_paused
    assert (await status(stack, paused))["status"] == "PROCESSING"

    await page.click("a.button:text-is('Resume')")
    await expect(page.locator(".affected")).to_contain_text("go back to the queue")
    await page.click("button:text-is('Resume')")
    await expect(page.get_by_role("status")).to_have_text(re.compile(r"^Campaign resumed: "))
    await expect(page.locator("h1 .badge").first).to_have_text("COMPLETED", timeout=20_000)
    assert (await status(stack, paused))["sent_messages"] == 1000


async def _redrive(stack: DevStack, page: Page, base: str, shots: Path) -> None:
    dead = "C20250115110000"
    stack.wordpress.seed_campaign(dead, 150)
    stack.cda.fail_next(503, count=2)  # two attempts allowed: a dead letter
    await dispatch(stack, dead)
    await wait_final(stack, dead, webhooks=2)
    await page.goto(f"{base}/dashboard/campaigns/{dead}")
    await expect(page.locator("h1 .badge").first).to_have_text("FAILED")
    await page.click("a.button:text-is('Redrive dead letters')")
    await expect(page.locator(".affected")).to_contain_text("1 dead letter with 150 recipients")
    await _shoot(page, shots, "confirm-redrive")
    await page.click("button:text-is('Redrive dead letters')")
    await expect(page.get_by_role("status")).to_have_text(
        "1 dead letter (150 recipients) sent again"
    )
    await expect(page.locator("h1 .badge").first).to_have_text("COMPLETED", timeout=20_000)
    assert (await status(stack, dead))["sent_messages"] == 150
