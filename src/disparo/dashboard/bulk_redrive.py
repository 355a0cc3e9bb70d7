"""The Dead letters page's bulk action: send the ticked (or all matching) FAILED and
UNKNOWN batches again, through the same service functions as a campaign page's "Redrive
dead letters" and "Retry unknown" (deadletters.redrive_batches, controls.retry_unknown).

Bounded: one submission acts on at most MAX_BULK batches, so a click never holds
thousands of campaign locks; the page says how many more match, and a second submission
takes the next ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from disparo.campaigns import controls, deadletters
from disparo.campaigns.models import BatchStatus, BatchStep
from disparo.dashboard import dead_letter_queries as q
from disparo.dashboard.actions import Outcome
from disparo.dashboard.views import counted
from disparo.errors import DisparoError
from disparo.runtime import Runtime

MAX_BULK = 500


@dataclass(frozen=True, slots=True)
class BulkPreview:
    chosen: list[q.Problem]
    dead: q.Tally  # FAILED: dead letters
    unknown: q.Tally
    campaigns: int
    matching: int  # every batch the filter matches, beyond MAX_BULK too

    @property
    def batches(self) -> int:
        return len(self.chosen)


def _tally(problems: Sequence[q.Problem]) -> q.Tally:
    own = [p.batch.message_count if p.batch.step == BatchStep.SEND else 0 for p in problems]
    return q.Tally(len(problems), sum(own))


async def chosen(
    rt: Runtime, where: q.ProblemFilter, ids: Sequence[int], now: datetime
) -> list[q.Problem]:
    """The batches a submission acts on: the ticked `ids` among those matching, or the
    first MAX_BULK matching."""
    async with rt.sessions() as session:
        return list(await q.selection(session, where, now, ids, MAX_BULK))


async def preview(
    rt: Runtime, where: q.ProblemFilter, ids: Sequence[int], now: datetime
) -> BulkPreview:
    async with rt.sessions() as session:
        chosen = await q.selection(session, where, now, ids, MAX_BULK)
        counts = await q.tally(session, where, now)
    dead = [p for p in chosen if p.batch.status == BatchStatus.FAILED]
    unknown = [p for p in chosen if p.batch.status == BatchStatus.UNKNOWN]
    return BulkPreview(
        chosen,
        _tally(dead),
        _tally(unknown),
        len({p.campaign.id for p in chosen}),
        sum(t.batches for t in counts.values()),
    )


def describe(p: BulkPreview) -> str:
    """What the confirmation page says the submission will do, in numbers."""
    parts = []
    if p.dead.batches:
        parts.append(
            f"{counted(p.dead.batches, 'dead letter')} with "
            f"{counted(p.dead.recipients, 'recipient')}"
        )
    if p.unknown.batches:
        parts.append(
            f"{counted(p.unknown.batches, 'UNKNOWN batch')} with "
            f"{counted(p.unknown.recipients, 'recipient')}"
        )
    text = " and ".join(parts) + f", in {counted(p.campaigns, 'campaign')}, "
    text += f"{'goes' if p.batches == 1 else 'go'} back to the queue with fresh attempts."
    if p.unknown.batches:
        text += (
            " The provider may already have the UNKNOWN ones: check first, they can be sent twice."
        )
    return text


async def run(rt: Runtime, chosen: Sequence[q.Problem]) -> Outcome:
    """Redrive the dead letters, retry the UNKNOWN sends campaign by campaign; a batch that
    changed meanwhile (someone else redrove it, its campaign was cancelled) is left alone."""
    dead_ids = [p.batch.id for p in chosen if p.batch.status == BatchStatus.FAILED]
    dead = await deadletters.redrive_batches(rt, dead_ids) if dead_ids else None
    unknown_batches = unknown_recipients = 0
    for campaign_id, sequences in _unknown_by_campaign(chosen):
        try:
            done = await controls.retry_unknown(rt, str(campaign_id), sequences)
        except DisparoError:
            continue
        unknown_batches += done.batches
        unknown_recipients += done.recipients
    batches = (dead.batches if dead else 0) + unknown_batches
    recipients = (dead.recipients if dead else 0) + unknown_recipients
    return Outcome(_said(chosen, dead, unknown_batches, unknown_recipients), batches, recipients)


def _unknown_by_campaign(chosen: Sequence[q.Problem]) -> list[tuple[uuid.UUID, list[int]]]:
    unknown = sorted(
        (p.campaign.id, p.batch.sequence) for p in chosen if p.batch.status == BatchStatus.UNKNOWN
    )
    return [(key, [seq for _, seq in group]) for key, group in groupby(unknown, lambda r: r[0])]


def _said(
    chosen: Sequence[q.Problem],
    dead: deadletters.RedriveResult | None,
    unknown_batches: int,
    unknown_recipients: int,
) -> str:
    dead_batches = dead.batches if dead else 0
    done = dead_batches + unknown_batches
    if not done:
        return "Nothing was sent again: those batches changed meanwhile."
    parts = []
    if dead_batches:
        parts.append(
            f"{counted(dead_batches, 'dead letter')} "
            f"({counted(dead.recipients if dead else 0, 'recipient')})"
        )
    if unknown_batches:
        parts.append(
            f"{counted(unknown_batches, 'UNKNOWN batch')} "
            f"({counted(unknown_recipients, 'recipient')})"
        )
    text = " and ".join(parts) + " sent again."
    left = len(chosen) - done
    if left:
        verb = "was" if left == 1 else "were"
        text += f" {counted(left, 'batch')} had changed meanwhile and {verb} left alone."
    return text
