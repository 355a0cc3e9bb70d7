"""What WordPress pulls to store each row's own outcome: the WordPress row id on every message,
and the receipts recorded since a cursor, paged by (recorded time, id) on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from disparo.campaigns.deliveries import StatusUpdate, apply_statuses
from disparo.campaigns.rows import row_id_of
from disparo.db import base
from disparo.devstack import DevStack
from tests.campaigns.test_api import client, dispatch, insert_messages, start
from tests.conftest import StackFactory

CAMPAIGN = "O20250115093000"
T0 = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """disparo's clock, moved by the test: receipts are recorded at now[0]."""
    now = [T0]
    saved = base.clock
    base.clock = lambda: now[0]
    try:
        yield now
    finally:
        base.clock = saved


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"id": "101"}, 101),
        ({"id": 7}, 7),
        ({"id": " 42 "}, 42),
        ({}, None),  # Gen B rows have no id
        ({"id": ""}, None),
        ({"id": "0"}, None),
        ({"id": "-3"}, None),
        ({"id": "12a"}, None),
        ({"id": "٣"}, None),  # a digit, but not ASCII
        ({"id": str(2**63)}, None),  # more than a BIGINT holds
        ({"id": str(2**63 - 1)}, 2**63 - 1),
    ],
)
def test_row_id_of(row: dict[str, Any], expected: int | None) -> None:
    assert row_id_of(row) == expected


async def receipts(stack: DevStack, campaign_id: uuid.UUID, *updates: tuple[int, str]) -> None:
    async with stack.runtime.sessions() as session, session.begin():
        await apply_statuses(
            session,
            [StatusUpdate(campaign_id, f"55119{n:08d}", st, T0, None) for n, st in updates],
        )


async def pages(stack: DevStack, since: datetime, limit: int) -> list[list[tuple[int, str]]]:
    """Every page of the receipts recorded since `since`: (row_id, delivery_status)."""
    found: list[list[tuple[int, str]]] = []
    query: dict[str, str | int] = {"delivery_since": since.isoformat(), "after": 0, "limit": limit}
    async with client(stack) as api:
        while True:
            response = await api.get(f"/campaigns/{CAMPAIGN}/messages", params=query)
            assert response.status_code == 200, response.text
            body = response.json()
            found.append([(item["row_id"], item["delivery_status"]) for item in body["items"]])
            if body["next_after"] is None:
                assert body["next_delivery_since"] is None
                return found
            query |= {"after": body["next_after"], "delivery_since": body["next_delivery_since"]}


async def test_receipts_are_paged_in_the_order_disparo_recorded_them(
    stack_factory: StackFactory, frozen_clock: list[datetime]
) -> None:
    stack = await start(stack_factory)
    campaign_id = uuid.UUID((await dispatch(stack, CAMPAIGN)).json()["campaign_id"])
    await insert_messages(
        stack, campaign_id, [{"phone": f"55119{n:08d}", "row_id": 100 + n} for n in range(6)]
    )
    await receipts(stack, campaign_id, (0, "DELIVERED"), (1, "DELIVERED"), (2, "DELIVERED"))
    frozen_clock[0] = T0 + timedelta(minutes=5)
    # Row 0 read later: it moves to the end, past rows that got their first receipt now.
    await receipts(stack, campaign_id, (4, "DELIVERED"), (0, "READ"))

    everything = await pages(stack, T0 - timedelta(seconds=1), limit=2)
    later = await pages(stack, T0 + timedelta(minutes=1), limit=10)

    assert everything == [
        [(101, "DELIVERED"), (102, "DELIVERED")],
        [(100, "READ"), (104, "DELIVERED")],
        [],
    ]
    # Rows 3 and 5 have no receipt; a pass after the first batch of receipts sees only the rest.
    assert later == [[(100, "READ"), (104, "DELIVERED")]]


async def test_a_page_carries_the_row_id_and_when_its_receipt_was_recorded(
    stack_factory: StackFactory, frozen_clock: list[datetime]
) -> None:
    stack = await start(stack_factory)
    campaign_id = uuid.UUID((await dispatch(stack, CAMPAIGN)).json()["campaign_id"])
    await insert_messages(
        stack, campaign_id, [{"phone": "5511900000000", "row_id": 9}, {"phone": "5511900000001"}]
    )
    await receipts(stack, campaign_id, (0, "DELIVERED"))

    async with client(stack) as api:
        body = (await api.get(f"/campaigns/{CAMPAIGN}/messages")).json()
        naive = await api.get(
            f"/campaigns/{CAMPAIGN}/messages", params={"delivery_since": "2025-01-15T14:00:00"}
        )

    first, second = body["items"]
    assert (first["row_id"], first["delivery_recorded_at"]) == (9, "2025-01-15T15:00:00Z")
    assert (second["row_id"], second["delivery_recorded_at"]) == (None, None)
    assert body["next_delivery_since"] is None
    # A time without a zone is UTC.
    assert [item["row_id"] for item in naive.json()["items"]] == [9]
