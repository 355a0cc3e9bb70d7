"""The per-row decision of a dispatch, shared by the ingest and the preflight.

`decide_rows` is the one place that says, row by row, whether a recipient is sent (and in
which batch) or SKIPPED (and why). The ingest records its decisions; the preflight only
counts them. A check added here, or to `chunk_checks` (checks that look rows up by the
thousand, such as a suppression list), therefore shows up in both, with the same reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from disparo.campaigns.opt_outs import SuppressedAmong
from disparo.campaigns.repeats import REPEATED, ExactRepeats, Refill, RepeatCheck, plan_refill
from disparo.campaigns.rows import CheckedRow, check_phone, env_id_of
from disparo.errors import Outcome
from disparo.providers.base import GroupsRecipients, Provider
from disparo.suppressions.lookup import OPT_OUT
from disparo.wordpress.client import NoDataError

NOT_AN_OBJECT = CheckedRow("", "linha não é um objeto JSON")
# Rows decided together: a chunk check makes one lookup per chunk, not one per row.
CHUNK_ROWS = 1_000


class ValidationFailed(Exception):
    """The rows cannot make a campaign: erro_validacao."""

    outcome = Outcome.INVALID  # read by disparo.errors.classify


@dataclass
class IngestTally:
    """The batches planned while the rows streamed past."""

    batch_size: int
    total: int = 0
    skipped: int = 0
    batch_counts: list[int] = field(default_factory=list)
    # Each batch's group of recipients ("" when the provider has no groups).
    batch_groups: list[str] = field(default_factory=list)
    # The batch still filling, per group.
    _filling: dict[str, int] = field(default_factory=dict)

    def place(self, group: str = "") -> int:
        """The batch of the next valid recipient: batches fill in row order, each with
        recipients of one group only."""
        sequence = self._filling.get(group)
        if sequence is None or self.batch_counts[sequence] >= self.batch_size:
            sequence = len(self.batch_counts)
            self.batch_counts.append(0)
            self.batch_groups.append(group)
            self._filling[group] = sequence
        self.batch_counts[sequence] += 1
        return sequence

    def lose(self, lost: Mapping[int, int]) -> Refill:
        """Takes recipients found to be repeats after the stream out of their batches, and
        plans how the batches fill up again (repeats.plan_refill); the counts follow it."""
        for sequence, count in lost.items():
            self.batch_counts[sequence] -= count
            self.skipped += count
        refill = plan_refill(self.batch_counts, self.batch_groups, self.batch_size)
        self.batch_counts = refill.counts
        return refill


@dataclass(frozen=True)
class Grouping:
    """How a grouping provider (GroupsRecipients) splits rows, with its credentials bound."""

    group_of: Callable[[Mapping[str, Any]], str | None]
    missing_reason: str


def grouping_for(provider: Provider, credentials: Any) -> Grouping | None:
    if not isinstance(provider, GroupsRecipients):
        return None
    return Grouping(
        lambda row: provider.recipient_group(row, credentials), provider.ungrouped_reason
    )


@dataclass(frozen=True, slots=True)
class RowDecision:
    """One row and what the dispatch does with it: `batch_seq` None means SKIPPED."""

    index: int
    row: Mapping[str, Any]  # {} when the row was not an object
    phone: str
    skip_reason: str | None
    batch_seq: int | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row that passed the row checks, as a chunk check sees it (phone normalised)."""

    row: Mapping[str, Any]
    phone: str


# Given a chunk of candidates, the skip reason of each (None keeps it), in the same order.
ChunkCheck = Callable[[Sequence[Candidate]], Awaitable[Sequence[str | None]]]


def chunk_checks(suppressed: SuppressedAmong | None = None) -> list[ChunkCheck]:
    """The chunk checks of a dispatch: the suppression list's lookup (`suppressed`, from
    opt_outs.suppression_lookup or reader_lookup; None when the list is empty)."""
    return [opt_out_check(suppressed)] if suppressed is not None else []


def opt_out_check(suppressed: SuppressedAmong) -> ChunkCheck:
    """`opt-out` for each candidate whose phone is on the suppression list (one query)."""

    async def check(candidates: Sequence[Candidate]) -> list[str | None]:
        found = await suppressed({candidate.phone for candidate in candidates})
        return [OPT_OUT if candidate.phone in found else None for candidate in candidates]

    return check


@dataclass(frozen=True, slots=True)
class RowRules:
    """Everything that decides the rows of one dispatch besides the rows themselves."""

    grouping: Grouping | None = None
    checks: Sequence[ChunkCheck] = ()
    # Stateful (it remembers phones): one per dispatch, as rules_for makes it.
    repeats: RepeatCheck = field(default_factory=ExactRepeats)


def rules_for(
    provider: Provider,
    credentials: Any,
    suppressed: SuppressedAmong | None = None,
    repeats: RepeatCheck | None = None,
) -> RowRules:
    """The rules of a dispatch through this provider: the ingest and the preflight both
    take theirs here. Without credentials (the preflight's, when WordPress refused them) a
    grouping provider's groups cannot be told. `repeats`: ExactRepeats unless given (the
    ingest's SuspectRepeats leaves them to the database)."""
    grouping = grouping_for(provider, credentials) if credentials is not None else None
    return RowRules(grouping, chunk_checks(suppressed), repeats or ExactRepeats())


async def first_row(rows: AsyncIterator[Any]) -> tuple[dict[str, Any], str]:
    """The campaign's first row and its environment id, or the error that fails the
    dispatch (no rows, a first row that is not an object, no environment id)."""
    first = await anext(rows, None)
    if first is None:
        raise NoDataError("WordPress devolveu uma lista vazia para este agendamento")
    if not isinstance(first, dict):
        raise ValidationFailed("a primeira linha devolvida pelo WordPress não é um objeto")
    env_id = env_id_of(first)
    if not env_id:
        raise ValidationFailed("a primeira linha não tem idgis_ambiente nem id_carteira")
    return first, env_id


async def chain(first: dict[str, Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for row in rest:
        yield row


@dataclass(slots=True)
class _Undecided:
    row: Mapping[str, Any]
    phone: str
    reason: str | None
    group: str


async def decide_rows(
    rows: AsyncIterator[Any],
    tally: IngestTally,
    rules: RowRules | None = None,
) -> AsyncIterator[RowDecision]:
    """Every row's decision, in row order, placing the sendable ones in `tally`'s batches:
    the phone, the provider's grouping, the chunk checks, then repeats among what is left.
    New checks belong here (or in chunk_checks), so that the preflight reports them.
    `rules` None: no grouping nor chunk checks, exact repeats."""
    rules = rules or RowRules()  # never a shared default: its repeat check remembers phones
    chunk: list[_Undecided] = []
    async for item in rows:
        chunk.append(_check_row(item, rules.grouping))
        if len(chunk) >= CHUNK_ROWS:
            for decision in await _decide(chunk, tally, rules):
                yield decision
            chunk = []
    for decision in await _decide(chunk, tally, rules):
        yield decision


def _check_row(item: Any, grouping: Grouping | None) -> _Undecided:
    # Anything but an object cannot be a recipient; it is kept, SKIPPED, not dropped.
    row = item if isinstance(item, dict) else {}
    checked = check_phone(row) if row else NOT_AN_OBJECT
    group = ""
    if checked.skip_reason is None and grouping is not None:
        group = grouping.group_of(row) or ""
        if not group:
            checked = CheckedRow(checked.phone, grouping.missing_reason)
    return _Undecided(row, checked.phone, checked.skip_reason, group)


async def _decide(
    chunk: list[_Undecided], tally: IngestTally, rules: RowRules
) -> list[RowDecision]:
    for check in rules.checks:
        alive = [entry for entry in chunk if entry.reason is None]
        if not alive:
            break
        reasons = await check([Candidate(entry.row, entry.phone) for entry in alive])
        for entry, reason in zip(alive, reasons, strict=True):
            entry.reason = reason
    repeated = rules.repeats.repeated
    decisions = []
    for entry in chunk:
        if entry.reason is None and repeated(entry.phone):
            entry.reason = REPEATED
        index = tally.total
        tally.total += 1
        batch_seq: int | None = None
        if entry.reason is None:
            batch_seq = tally.place(entry.group)
        else:
            tally.skipped += 1
        decisions.append(RowDecision(index, entry.row, entry.phone, entry.reason, batch_seq))
    return decisions
