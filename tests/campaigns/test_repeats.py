"""Repeated phones: the ingest leaves them to the database (a Bloom filter's suspects) and
must skip exactly the rows the preflight's exact check skips, on PostgreSQL and SQLite."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from disparo.campaigns import ingest
from disparo.campaigns.models import BatchStep, CampaignMessage, MessageStatus
from disparo.campaigns.repeats import (
    REPEATED,
    ExactRepeats,
    RowMove,
    SuspectRepeats,
    plan_refill,
)
from disparo.campaigns.row_plan import IngestTally, RowRules, decide_rows
from tests.conftest import StackFactory
from tests.e2e.helpers import campaign_rows, dispatch

CAMPAIGN = "C20250115093000"
BATCH = 3


def phone(n: int) -> str:
    return f"55119{n:08d}"


async def exact_reasons(rows: list[dict[str, Any]]) -> list[str | None]:
    async def stream() -> AsyncIterator[Any]:
        for row in rows:
            yield row

    tally = IngestTally(batch_size=BATCH)
    return [d.skip_reason async for d in decide_rows(stream(), tally, RowRules())]


async def ingest_with(
    stack_factory: StackFactory, phones: list[str], monkeypatch: pytest.MonkeyPatch, capacity: int
) -> tuple[list[dict[str, Any]], list[SuspectRepeats]]:
    made: list[SuspectRepeats] = []

    def small_filter() -> SuspectRepeats:
        made.append(SuspectRepeats(capacity))
        return made[-1]

    monkeypatch.setattr(ingest, "SuspectRepeats", small_filter)
    stack = await stack_factory(with_worker=False, cda_batch_size=BATCH)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, len(phones))
    for row, number in zip(rows, phones, strict=True):
        row["telefone"] = number
    stack.wordpress.add_campaign(CAMPAIGN, rows)
    await dispatch(stack, CAMPAIGN)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await ingest.run_dispatch(stack.runtime, campaign.id, last_attempt=True)

    campaign, batches, _ = await campaign_rows(stack, CAMPAIGN)
    async with stack.runtime.sessions() as session:
        query = select(CampaignMessage).where(CampaignMessage.campaign_id == campaign.id)
        messages = (await session.scalars(query.order_by(CampaignMessage.row_index))).all()
    sends = [b for b in batches if b.step == BatchStep.SEND]
    in_batch = Counter(m.batch_seq for m in messages if m.batch_seq is not None)
    # Sequences stay 0..n-1, each batch's count is what its rows say, none over the size.
    assert sorted(b.sequence for b in sends) == list(range(len(sends)))
    assert {b.sequence: b.message_count for b in sends} == dict(in_batch)
    assert all(b.message_count == BATCH for b in sends[:-1])  # as full as the preflight's
    assert 0 < sends[-1].message_count <= BATCH
    skipped = [m for m in messages if m.status == MessageStatus.SKIPPED]
    assert campaign.skipped_messages == len(skipped) and all(m.batch_seq is None for m in skipped)
    return [{"reason": m.skip_reason, "batch": m.batch_seq} for m in messages], made


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_database_skips_exactly_the_repeats_the_exact_check_skips(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    phones = [phone(rng.randrange(25)) for _ in range(50)]  # many repeats, some thrice
    phones += [phone(100 + n) for n in range(30)]  # and phones seen once
    rng.shuffle(phones)
    phones[7] = "123"  # an invalid phone is never anyone's repeat
    phones[8] = "123"
    # A filter sized for 8 phones mistakes most of the 55 for repeats: those must be sent.
    recorded, [repeats] = await ingest_with(stack_factory, phones, monkeypatch, capacity=8)

    rows = [{"telefone": number} for number in phones]
    assert [r["reason"] for r in recorded] == await exact_reasons(rows)
    counts = Counter(phones)
    mistaken = {p for p in repeats.suspects if counts[p] == 1}
    assert mistaken, "the small filter should have mistaken some phone seen once"
    first_rows = {p: phones.index(p) for p in mistaken}
    assert all(recorded[i]["reason"] is None for i in first_rows.values())


async def test_batches_a_repeat_emptied_fill_again_from_the_last_one(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 3 filled in row order: rows 3-5 repeat rows 0-2, so batch 1 empties; the
    # last batch's row 9 and then batch 2's last rows fill it, and the empty last goes.
    phones = [phone(n) for n in (0, 1, 2, 0, 1, 2, 3, 4, 5, 6)]
    recorded, _ = await ingest_with(stack_factory, phones, monkeypatch, capacity=1_000)

    assert [r["reason"] for r in recorded[3:6]] == [REPEATED] * 3
    assert [r["batch"] for r in recorded] == [0, 0, 0, None, None, None, 2, 1, 1, 1]


def test_a_refill_fills_every_batch_but_its_groups_last_from_that_groups_tail() -> None:
    # Groups a and b interleave; a's batch 0 lost 2 and b's batch 1 lost all 3.
    counts, groups = [1, 0, 3, 3, 2, 1], ["a", "b", "a", "b", "a", "b"]
    refill = plan_refill(counts, groups, size=3)

    assert refill.moves == [RowMove(4, 0, 2), RowMove(5, 1, 1), RowMove(3, 1, 2)]
    # a: 3, 3 (batch 4 emptied); b: 3, 1 (batch 5 emptied): one group per batch still.
    assert refill.counts == [3, 3, 3, 1]
    assert refill.renumbered == {}  # the emptied batches were the last two


def test_a_refill_renumbers_past_a_batch_nothing_could_fill() -> None:
    refill = plan_refill([3, 0, 2], ["a", "b", "a"], size=3)  # b's only batch emptied
    assert (refill.moves, refill.counts, refill.renumbered) == ([], [3, 2], {2: 1})


def test_every_repeat_is_a_suspect_and_exact_repeats_skip_from_the_second() -> None:
    numbers = [phone(n % 7) for n in range(30)]
    suspect, exact = SuspectRepeats(), ExactRepeats()
    assert not any(suspect.repeated(p) for p in numbers)  # it skips nothing itself
    assert suspect.suspects == set(numbers)  # each of the 7 came back
    assert [exact.repeated(p) for p in numbers] == [False] * 7 + [True] * 23
