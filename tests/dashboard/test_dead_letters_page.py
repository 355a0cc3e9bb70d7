"""The Dead letters page: FAILED (spent) and UNKNOWN batches across campaigns, filtered and
paged, and their bulk redrive — confirmed with its numbers first, refused without CSRF or
`operate`, bounded, audited, and done by the same service functions as the single actions."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from disparo.audit.models import AuditEvent
from disparo.campaigns import deadletters
from disparo.campaigns.models import BatchStatus, ProviderBatch
from disparo.dashboard import bulk_redrive
from disparo.devstack import DevStack
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, csrf_of, sign_in
from tests.dashboard.seed import add_problems

FLASH = re.compile(r'<p class="notice" role="status">([^<]+)</p>')
ROW = re.compile(r'data-row="dead-(\d+)"')
READER_KEY = "reader-key-0123456789"


async def _stack(stack_factory: StackFactory) -> DevStack:
    keys = [SecretStr(API_KEY), SecretStr(f"ro:dashboard+read:{READER_KEY}")]
    stack = await stack_factory(with_worker=False, api_keys=keys)
    await add_problems(stack.runtime)
    return stack


async def _listed(client: httpx.AsyncClient, query: str = "") -> list[int]:
    page = await client.get(f"/dashboard/dead-letters?{query}")
    assert page.status_code == 200, page.text
    return [int(found) for found in ROW.findall(page.text)]


async def _batch_ids(stack: DevStack, *statuses: BatchStatus) -> list[int]:
    async with stack.runtime.sessions() as session:
        found = await session.scalars(
            select(ProviderBatch.id).where(ProviderBatch.status.in_(statuses))
        )
        return sorted(found)


async def test_the_page_lists_what_an_operator_decides_about_and_filters_it(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        everything = await _listed(client)
        # 3 dead letters + 1 UNKNOWN; not the SENT batch, the FAILED one with attempts left,
        # nor the cancelled campaign's dead letter.
        assert len(everything) == 4 and everything == sorted(everything, reverse=True)
        dead = await _listed(client, "status=FAILED")
        assert len(dead) == await deadletters.count_dead_letters(stack.runtime) == 3
        assert len(await _listed(client, "status=unknown")) == 1
        assert len(await _listed(client, "provider=gosac")) == 2
        assert len(await _listed(client, "campaign=C-DEAD-CDA")) == 2
        assert len(await _listed(client, "error=sem+saldo")) == 1
        assert len(await _listed(client, "age=1h")) == 3  # the 422 died two days ago
        assert len(await _listed(client, "age=older")) == 1
        assert await _listed(client, "error=100%25") == []  # % is a character, not a wildcard
        missing = await client.get("/dashboard/dead-letters?campaign=C-NOPE")
        assert "No campaign has the id or agendamento_id C-NOPE" in missing.text
        # The Queues page's count links here.
        queues = await client.get("/dashboard/queues")
        assert 'href="/dashboard/dead-letters" data-field="dead_letters">3<' in queues.text


async def test_bulk_redrive_confirms_then_sends_the_ticked_ones_and_audits(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        ticked = await _listed(client, "provider=GOSAC")  # the UNKNOWN and the 422
        confirm = await client.get(
            "/dashboard/dead-letters/confirm",
            params=[("provider", "GOSAC"), ("picked", "1")] + [("ids", i) for i in ticked],
        )
        assert (
            "1 dead letter with 5 recipients and 1 UNKNOWN batch with 5 recipients, "
            "in 1 campaign, go back to the queue"
        ) in confirm.text
        assert "can be sent twice" in confirm.text
        form = {"csrf_token": "forged", "provider": "GOSAC", "ids": ",".join(map(str, ticked))}
        assert (await client.post("/dashboard/dead-letters/redrive", data=form)).status_code == 403
        assert len(await _listed(client)) == 4

        form["csrf_token"] = csrf_of(confirm.text)
        done = await client.post("/dashboard/dead-letters/redrive", data=form)
        assert done.status_code == 303 and done.headers["location"].endswith("?provider=GOSAC")
        page = await client.get(done.headers["location"])
        found = FLASH.search(page.text)
        assert found and found.group(1) == (
            "1 dead letter (5 recipients) and 1 UNKNOWN batch (5 recipients) sent again."
        )
        assert await _listed(client, "provider=GOSAC") == []
        assert set(ticked) <= set(await _batch_ids(stack, BatchStatus.PENDING))
        async with stack.runtime.sessions() as session:
            event = await session.scalar(
                select(AuditEvent).where(AuditEvent.action == "redrive-bulk")
            )
        assert event is not None and (event.batches, event.recipients) == (2, 10)
        assert event.target == "dead letters (2 ticked; provider=GOSAC)"

        # "Redrive ticked" with nothing ticked is nothing, never "all".
        empty = await client.get("/dashboard/dead-letters/confirm?picked=1")
        assert "Nothing to do" in empty.text


async def test_bulk_redrive_is_bounded_and_says_what_is_left(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_redrive, "MAX_BULK", 2)
    stack = await _stack(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        confirm = await client.get("/dashboard/dead-letters/confirm?status=FAILED")
        assert "The first 2 of 3 matching batches" in confirm.text
        assert "Redrive 2 batches" in confirm.text
        form = {"csrf_token": csrf_of(confirm.text), "status": "FAILED"}
        await client.post("/dashboard/dead-letters/redrive", data=form)
        assert len(await _listed(client, "status=FAILED")) == 1  # the oldest two went


async def test_a_reader_sees_the_list_but_cannot_redrive(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    async with browser(stack) as client:
        await sign_in(client, READER_KEY)
        page = await client.get("/dashboard/dead-letters")
        assert len(ROW.findall(page.text)) == 4
        assert 'type="checkbox"' not in page.text and "Redrive" not in page.text
        assert (await client.get("/dashboard/dead-letters/confirm")).status_code == 403
        csrf = csrf_of(page.text)  # the sign-out form's: a valid token of this session
        refused = await client.post("/dashboard/dead-letters/redrive", data={"csrf_token": csrf})
        assert refused.status_code == 403
    assert len(await _batch_ids(stack, BatchStatus.PENDING)) == 0
