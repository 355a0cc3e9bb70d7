"""Batch planning: batches fill in row order, each with recipients of one group only."""

from __future__ import annotations

from disparo.campaigns.row_plan import IngestTally


def plan(batch_size: int, groups: list[str]) -> tuple[list[int], list[int]]:
    tally = IngestTally(batch_size=batch_size)
    placed = [tally.place(group) for group in groups]
    return placed, tally.batch_counts


def test_without_groups_batches_fill_in_row_order() -> None:
    assert plan(2, [""] * 5) == ([0, 0, 1, 1, 2], [2, 2, 1])


def test_groups_never_share_a_batch() -> None:
    placed, counts = plan(2, ["77", "78", "77", "77", "78", "78", "79"])
    assert placed == [0, 1, 0, 2, 1, 3, 4]
    assert counts == [2, 2, 1, 1, 1]
