"""A WordPress answer past a cap, or dripping past the deadline, fails the campaign with
erro_validacao naming the limit, and leaves nothing half-ingested (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from disparo.campaigns import ingest
from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import CampaignMessage, CampaignStatus, ProviderBatch
from disparo.devstack import DevStack
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, campaign_rows, dispatch, outbox_statuses
from tests.support import serve_swappable

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def small_sqlite_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rows reach SQLite in chunks of 10, so rows are written before the limit is hit.
    monkeypatch.setattr(ingest, "SQLITE_CHUNK", 10)


async def nothing_ingested(stack: DevStack) -> tuple[str, int, int]:
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    async with stack.runtime.sessions() as session:
        rows = await session.scalar(
            select(func.count()).where(CampaignMessage.campaign_id == campaign.id)
        )
        batches = await session.scalar(
            select(func.count()).where(ProviderBatch.campaign_id == campaign.id)
        )
    assert campaign.status == CampaignStatus.FAILED
    return campaign.error_message or "", int(rows or 0), int(batches or 0)


async def dispatched(stack: DevStack, count: int) -> None:
    stack.wordpress.seed_campaign(CAMPAIGN, count)
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)


async def test_more_rows_than_the_limit_fail_the_campaign_and_roll_back(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False, wordpress_max_rows=50)
    await dispatched(stack, 120)
    error, rows, batches = await nothing_ingested(stack)
    assert "DISPARO_WORDPRESS_MAX_ROWS" in error and "50" in error
    assert (rows, batches) == (0, 0)
    assert await outbox_statuses(stack) == ["erro_validacao"]


async def test_an_answer_past_the_byte_cap_fails_the_campaign_and_rolls_back(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False, wordpress_rows_max_bytes=20_000)
    await dispatched(stack, 400)  # ~120 KB of rows: dozens are parsed before the cap hits
    error, rows, batches = await nothing_ingested(stack)
    assert "DISPARO_WORDPRESS_ROWS_MAX_BYTES" in error and "20000 bytes" in error
    assert (rows, batches) == (0, 0)
    assert await outbox_statuses(stack) == ["erro_validacao"]


class Dripping:
    """WordPress's recipients answer, re-sent a few hundred bytes at a time."""

    def __init__(self, app: Any, piece: int = 300, pause: float = 0.05) -> None:
        self.app, self.piece, self.pause = app, piece, pause

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/campaigns/v1/data/" not in scope["path"]:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": headers})
        # Stop dripping once disparo hangs up (its deadline): the server can then shut down.
        gone = asyncio.create_task(_disconnected(receive))
        try:
            for at in range(0, len(body), self.piece):
                if gone.done():
                    return
                chunk = body[at : at + self.piece]
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await asyncio.sleep(self.pause)
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def test_a_wordpress_dripping_bytes_times_out_and_leaves_nothing(
    stack_factory: StackFactory,
) -> None:
    async with serve_swappable(Starlette()) as front:
        # Each piece comes well inside the 30 s per-phase timeout; the whole answer would
        # take ~40 s, far past the 1.5 s deadline (the bound below leaves room for a loaded
        # machine and still proves the download was cut, not finished).
        stack = await stack_factory(
            with_worker=False, wordpress_url=front.url, wordpress_rows_deadline=1.5
        )
        front.app = Dripping(stack.wordpress.app, pause=0.2)
        started = time.monotonic()
        await dispatched(stack, 200)
        elapsed = time.monotonic() - started
    error, rows, batches = await nothing_ingested(stack)
    assert "prazo total de 1.5 s" in error, error
    assert (rows, batches) == (0, 0)
    assert elapsed < 20, elapsed
