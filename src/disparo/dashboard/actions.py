"""Operator actions on a campaign page. Each one is previewed first (what it will touch, in
numbers) and then POSTed with the session's CSRF token; the work is done by the same service
functions as the API and the CLI (campaigns/controls.py, campaigns/deadletters.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from disparo.campaigns import controls, deadletters
from disparo.campaigns.models import (
    TERMINAL_CAMPAIGN,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignStatus,
    ProviderBatch,
)
from disparo.dashboard.notices import control_notice
from disparo.dashboard.views import counted
from disparo.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Tally:
    batches: int = 0
    recipients: int = 0


@dataclass(frozen=True, slots=True)
class Preview:
    """What the campaign holds that an action would touch."""

    by_status: dict[str, Tally]
    dead_letters: Tally
    paused: bool
    status: CampaignStatus

    def of(self, status: BatchStatus) -> Tally:
        return self.by_status.get(status.value, Tally())


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: the sentence for the page, the counts for the audit log."""

    message: str
    batches: int
    recipients: int


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    label: str
    danger: bool
    available: Callable[[Preview], bool]
    describe: Callable[[Preview], str]
    run: Callable[[Runtime, str], Awaitable[Outcome]]


async def preview(rt: Runtime, campaign: Campaign) -> Preview:
    async with rt.sessions() as session:
        rows = await session.execute(
            select(ProviderBatch.status, func.count(), func.sum(ProviderBatch.message_count))
            .where(ProviderBatch.campaign_id == campaign.id, ProviderBatch.step == BatchStep.SEND)
            .group_by(ProviderBatch.status)
        )
        by_status = {str(s): Tally(int(n), int(r or 0)) for s, n, r in rows}
    # What the redrive will act on, from the dead-letter service itself (one definition).
    where = deadletters.DeadLetterFilter(campaign=str(campaign.id))
    dead = await deadletters.tally_dead_letters(rt, where)
    return Preview(
        by_status,
        Tally(dead.batches, dead.recipients),
        campaign.paused_at is not None,
        campaign.status,
    )


def _running(p: Preview) -> bool:
    return p.status in (CampaignStatus.QUEUED, CampaignStatus.PROCESSING)


def _n(count: int, word: str) -> str:
    return counted(count, word)


def _verb(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _done(result: controls.ControlResult) -> Outcome:
    return Outcome(control_notice(result), result.batches, result.recipients)


async def _pause(rt: Runtime, key: str) -> Outcome:
    return _done(await controls.pause_campaign(rt, key))


async def _resume(rt: Runtime, key: str) -> Outcome:
    return _done(await controls.resume_campaign(rt, key))


async def _cancel(rt: Runtime, key: str) -> Outcome:
    return _done(await controls.cancel_campaign(rt, key))


async def _retry_failed(rt: Runtime, key: str) -> Outcome:
    return _done(await controls.retry_failed(rt, key))


async def _retry_unknown(rt: Runtime, key: str) -> Outcome:
    return _done(await controls.retry_unknown(rt, key))


async def _redrive(rt: Runtime, key: str) -> Outcome:
    where = deadletters.DeadLetterFilter(campaign=key)
    done = await deadletters.redrive_dead_letters(rt, where)
    if not done.batches:
        return Outcome("No dead letters left to redrive", 0, 0)
    text = f"{_n(done.batches, 'dead letter')} ({_n(done.recipients, 'recipient')}) sent again"
    return Outcome(text, done.batches, done.recipients)


def _retry_text(p: Preview, status: BatchStatus) -> str:
    tally = p.of(status)
    return (
        f"{_n(tally.batches, 'batch')} in {status.value} with {_n(tally.recipients, 'recipient')} "
        f"{_verb(tally.batches, 'goes', 'go')} back to the queue with fresh attempts."
    )


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "pause",
            "Pause",
            False,
            lambda p: _running(p) and not p.paused,
            lambda p: (
                f"No new batch is claimed: {_n(p.of(BatchStatus.PENDING).batches, 'batch')}"
                f" waiting {_verb(p.of(BatchStatus.PENDING).batches, 'stays', 'stay')} PENDING"
                " until you resume. Batches already at the provider finish."
            ),
            _pause,
        ),
        Action(
            "resume",
            "Resume",
            False,
            lambda p: _running(p) and p.paused,
            lambda p: (
                f"{_n(p.of(BatchStatus.PENDING).batches, 'pending batch')} with "
                f"{_n(p.of(BatchStatus.PENDING).recipients, 'recipient')} "
                f"{_verb(p.of(BatchStatus.PENDING).batches, 'goes', 'go')} back to the queue."
            ),
            _resume,
        ),
        Action(
            "cancel",
            "Cancel",
            True,
            lambda p: p.status not in TERMINAL_CAMPAIGN,
            lambda p: (
                f"{_n(p.of(BatchStatus.PENDING).batches, 'batch')} not yet sent "
                f"({_n(p.of(BatchStatus.PENDING).recipients, 'recipient')}) "
                f"{_verb(p.of(BatchStatus.PENDING).batches, 'is', 'are')} cancelled and "
                "their recipients end FAILED; WordPress hears erro_envio. This cannot be undone."
            ),
            _cancel,
        ),
        Action(
            "retry-failed",
            "Retry failed",
            False,
            lambda p: p.status != CampaignStatus.CANCELLED and p.of(BatchStatus.FAILED).batches > 0,
            lambda p: _retry_text(p, BatchStatus.FAILED),
            _retry_failed,
        ),
        Action(
            "retry-unknown",
            "Retry unknown",
            True,
            lambda p: (
                p.status != CampaignStatus.CANCELLED and p.of(BatchStatus.UNKNOWN).batches > 0
            ),
            lambda p: (
                _retry_text(p, BatchStatus.UNKNOWN)
                + " The provider may already have them: check with it first, this can send twice."
            ),
            _retry_unknown,
        ),
        Action(
            "redrive",
            "Redrive dead letters",
            False,
            lambda p: p.dead_letters.batches > 0,
            lambda p: (
                f"{_n(p.dead_letters.batches, 'dead letter')} with "
                f"{_n(p.dead_letters.recipients, 'recipient')} (batches that spent their attempts) "
                f"{_verb(p.dead_letters.batches, 'is', 'are')} sent again with fresh attempts."
            ),
            _redrive,
        ),
    )
}
