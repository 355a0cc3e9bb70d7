"""A phone repeated in one campaign gets one message: its first sendable row is sent, every
later sendable row with that phone is SKIPPED ("telefone repetido na campanha").

"Sendable" means after the other checks (phone, group, suppression list): a repeat of a row
that was skipped for its own reason is still sent once. Two ways to tell, with one answer:

- `ExactRepeats` remembers every phone. The preflight uses it: it records nothing, and
  reports each repeat as the rows stream past.
- `SuspectRepeats` remembers a fixed-size Bloom filter, and the few phones it may have seen
  twice. The ingest records every sendable row, then `skip_repeats` settles those suspects
  in the database (the index on campaign_id, phone). A set of every phone cost ~70 B a row
  (350 MB at 5,000,000 rows); the filter is ~11 MB whatever the size.

A repeat leaves its place in a batch empty: `plan_refill` fills each batch again from the
last batch of its group, so the batches are as full, and as many, as the preflight's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from rbloom import Bloom
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import CampaignMessage, MessageStatus

REPEATED = "telefone repetido na campanha"
# Sized for the largest campaigns seen; past it, more phones are suspects (still exact).
FILTER_CAPACITY = 10_000_000
FILTER_FALSE_POSITIVES = 0.01
# Suspect phones settled per query (SQLite's bound-parameter limit is far above it).
SUSPECTS_PER_QUERY = 500


class RepeatCheck(Protocol):
    def repeated(self, phone: str) -> bool:
        """Whether this sendable row is a repeat to skip now (called in row order)."""
        ...


class ExactRepeats:
    def __init__(self) -> None:
        self._seen: set[str] = set()

    def repeated(self, phone: str) -> bool:
        if phone in self._seen:
            return True
        self._seen.add(phone)
        return False


class SuspectRepeats:
    """Skips nothing while rows stream; `suspects` holds every phone seen more than once
    (and a few seen once that the filter mistook): the ones `skip_repeats` must settle."""

    def __init__(self, capacity: int = FILTER_CAPACITY) -> None:
        self._filter = Bloom(capacity, FILTER_FALSE_POSITIVES)
        self.suspects: set[str] = set()

    def repeated(self, phone: str) -> bool:
        if phone in self._filter:
            self.suspects.add(phone)
        else:
            self._filter.add(phone)
        return False


async def skip_repeats(
    session: AsyncSession, campaign_id: uuid.UUID, suspects: Iterable[str]
) -> dict[int, int]:
    """Skips, in the recorded campaign, every sendable row of a suspect phone but its first;
    returns how many rows each batch lost."""
    lost: dict[int, int] = {}
    ordered = sorted(suspects)
    for start in range(0, len(ordered), SUSPECTS_PER_QUERY):
        phones = ordered[start : start + SUSPECTS_PER_QUERY]
        later = _later_rows(campaign_id, phones).subquery()
        counts = await session.execute(
            select(later.c.batch_seq, func.count()).group_by(later.c.batch_seq)
        )
        found = {int(sequence): int(count) for sequence, count in counts}
        if not found:
            continue  # every suspect of this chunk was the filter's mistake
        await session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id.in_(select(later.c.id)))
            .values(status=MessageStatus.SKIPPED, skip_reason=REPEATED, batch_seq=None)
            .execution_options(synchronize_session=False)
        )
        for sequence, count in found.items():
            lost[sequence] = lost.get(sequence, 0) + count
    return lost


@dataclass(frozen=True, slots=True)
class RowMove:
    """`count` recipients (the last ones by row) of batch `source` join batch `target`."""

    source: int
    target: int
    count: int


@dataclass
class Refill:
    """How batches with repeats taken out fill up again: the rows that move, then the
    sequences renumbered {old: new} where a batch emptied (sequences stay 0..n-1)."""

    counts: list[int]
    moves: list[RowMove] = field(default_factory=list)
    renumbered: dict[int, int] = field(default_factory=dict)


def plan_refill(counts: list[int], groups: list[str], size: int) -> Refill:
    """Fills every batch but its group's last up to `size` with the recipients of its
    group's last batches (batches hold one group each), then drops the emptied ones."""
    counts = list(counts)
    moves: list[RowMove] = []
    for sequences in _by_group(groups).values():
        first, last = 0, len(sequences) - 1
        while first < last:
            target, source = sequences[first], sequences[last]
            take = min(size - counts[target], counts[source])
            if take > 0:
                moves.append(RowMove(source, target, take))
                counts[target] += take
                counts[source] -= take
            if counts[source] == 0:
                last -= 1
            elif counts[target] >= size:
                first += 1
    kept = [count for count in counts if count]
    return Refill(kept, moves, _closing_gaps(counts))


def _closing_gaps(counts: list[int]) -> dict[int, int]:
    """{old: new} of the batches after an emptied one."""
    renumbered: dict[int, int] = {}
    new = 0
    for sequence, count in enumerate(counts):
        if count:
            if sequence != new:
                renumbered[sequence] = new
            new += 1
    return renumbered


def _by_group(groups: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for sequence, group in enumerate(groups):
        found.setdefault(group, []).append(sequence)
    return found


async def refill_batches(session: AsyncSession, campaign_id: uuid.UUID, refill: Refill) -> None:
    """Applies plan_refill's plan to the recorded rows: one statement per move and per
    renumbered batch, a handful where repeats are rare."""
    of_campaign = CampaignMessage.campaign_id == campaign_id
    for move in refill.moves:
        last_rows = (
            select(CampaignMessage.id)
            .where(of_campaign, CampaignMessage.batch_seq == move.source)
            .order_by(CampaignMessage.row_index.desc())
            .limit(move.count)
        )
        await session.execute(
            update(CampaignMessage)
            .where(CampaignMessage.id.in_(last_rows))
            .values(batch_seq=move.target)
            .execution_options(synchronize_session=False)
        )
    for old, new in sorted(refill.renumbered.items()):
        await session.execute(
            update(CampaignMessage)
            .where(of_campaign, CampaignMessage.batch_seq == old)
            .values(batch_seq=new)
            .execution_options(synchronize_session=False)
        )


def _later_rows(campaign_id: uuid.UUID, phones: list[str]) -> Select[tuple[int, int]]:
    """The sendable rows of these phones that come after each phone's first one."""
    ranked = (
        select(
            CampaignMessage.id,
            CampaignMessage.batch_seq,
            func.row_number()
            .over(partition_by=CampaignMessage.phone, order_by=CampaignMessage.row_index)
            .label("rank"),
        )
        .where(
            CampaignMessage.campaign_id == campaign_id,
            CampaignMessage.phone.in_(phones),
            CampaignMessage.batch_seq.is_not(None),
        )
        .subquery()
    )
    return select(ranked.c.id, ranked.c.batch_seq).where(ranked.c.rank > 1)
