"""row_plan.decide_rows: the decision the ingest and the preflight share, streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from disparo.campaigns.row_plan import (
    CHUNK_ROWS,
    Candidate,
    Grouping,
    IngestTally,
    RowRules,
    decide_rows,
)


async def numbered_rows(count: int, produced: list[int]) -> AsyncIterator[Any]:
    for index in range(count):
        produced[0] += 1
        yield {"telefone": f"5511{900000000 + index:09d}", "nome": "X"}


async def test_rows_stream_through_at_most_one_chunk_at_a_time() -> None:
    produced = [0]
    held = 0
    tally = IngestTally(batch_size=10_000)
    async for decision in decide_rows(numbered_rows(20_000, produced), tally):
        held = max(held, produced[0] - decision.index)
    assert held <= CHUNK_ROWS
    assert (tally.total, tally.skipped, tally.batch_counts) == (20_000, 0, [10_000, 10_000])


async def test_chunk_checks_see_only_rows_still_sendable_and_skip_in_row_order() -> None:
    seen: list[list[str]] = []

    async def odd_out(candidates: Sequence[Candidate]) -> list[str | None]:
        seen.append([c.phone[-1] for c in candidates])
        return ["opt-out" if int(c.phone[-1]) % 2 else None for c in candidates]

    async def never(candidates: Sequence[Candidate]) -> list[str | None]:
        seen.append([c.phone[-1] + "!" for c in candidates])
        return [None] * len(candidates)

    async def rows() -> AsyncIterator[Any]:
        for raw in ("5511900000001", "5511900000002", "abc", "5511900000002", "5511900000004"):
            yield {"telefone": raw}

    tally = IngestTally(batch_size=1)
    rules = RowRules(Grouping(lambda row: "g", "sem grupo"), (odd_out, never))
    decisions = [d async for d in decide_rows(rows(), tally, rules)]

    assert [(d.index, d.skip_reason, d.batch_seq) for d in decisions] == [
        (0, "opt-out", None),
        (1, None, 0),
        (2, "telefone inválido: 'abc'", None),
        (3, "telefone repetido na campanha", None),
        (4, None, 1),
    ]
    # Repeats are told among the rows the checks keep: the chunk checks see them too.
    assert seen == [["1", "2", "2", "4"], ["2!", "2!", "4!"]]
    assert (tally.total, tally.skipped) == (5, 3)


async def test_repeats_are_told_after_normalisation_and_invalid_phones_are_never_repeats() -> None:
    async def rows() -> AsyncIterator[Any]:
        for raw in (
            "5511900000001",
            "(11) 90000-0001",
            "5521900000002",
            "11900000001",
            "abc",
            "",
            "abc",
            "5521900000002",
        ):
            yield {"telefone": raw}

    decisions = [d async for d in decide_rows(rows(), IngestTally(batch_size=10))]

    reasons = [d.skip_reason for d in decisions]
    assert reasons[0] is None and reasons[2] is None
    assert reasons[1] == reasons[3] == reasons[7] == "telefone repetido na campanha"
    assert reasons[4] == reasons[6] == "telefone inválido: 'abc'"
    assert reasons[5] == "telefone ausente"
