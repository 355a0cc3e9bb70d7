"""What a failed provider request does to its claimed batch, for a send and a second step
alike: one mapping, so that the two cannot drift apart. errors.classify's outcome picks the
move (batches.py); a Retry-After pauses every worker sending for the account, whichever kind
of request got it; whatever may have reached the provider is never resent blind (UNKNOWN, or
retried where the policy says resending is harmless)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import DBAPIError

from disparo.campaigns import batches
from disparo.campaigns.batches import Claimed, Report
from disparo.errors import Outcome, classify, message_of
from disparo.providers.base import RetryableError
from disparo.providers.policy import ProviderPolicy
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

# What WordPress hears when a refusal ends its campaign (every other refusal: erro_envio).
_REFUSAL_WEBHOOK = {Outcome.CREDENTIALS: "erro_credenciais", Outcome.INVALID: "erro_validacao"}


@dataclass(frozen=True, slots=True)
class Attempt:
    """The request that failed: `kind` names it in log events ("send", "step"), `account`
    is the limit a Retry-After pauses. `request_left` False: it failed before its request
    could leave (the credentials, the stamp, the wait for a slot), so nothing reached the
    provider whatever the error says."""

    kind: str
    account: str
    policy: ProviderPolicy  # its retries and what an unknown outcome becomes
    pause_cap: float  # the longest a Retry-After pauses the account (its send policy's cap)
    no_answer_reason: str  # the report when no whole answer came in time
    crash_reason: str  # the report's start when our own code failed mid-request
    request_left: bool = True
    # The breaker's probe (breaker.py): a failure before the provider acted is not counted.
    probe: bool = False


async def record_failure(rt: Runtime, claimed: Claimed, attempt: Attempt, exc: Exception) -> None:
    """The move errors.classify's outcome calls for, with its log event and report."""
    outcome = classify(exc)
    status_code = getattr(exc, "status_code", None)
    text = message_of(exc)
    if outcome.final:
        log.warning(f"{attempt.kind}.rejected", error=text, status=status_code)
        webhook = _REFUSAL_WEBHOOK.get(outcome, "erro_envio")
        await batches.fail(rt, claimed, Report(text, status_code, webhook=webhook))
        return
    if outcome == Outcome.RETRY or not attempt.request_left:
        log.warning(f"{attempt.kind}.retryable", error=text, status=status_code)
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        if retry_after and attempt.request_left:  # before it, the Retry-After was WordPress's
            await _pause_account(rt, attempt, retry_after)
        report = Report(text, status_code, retry_after)
        await batches.retry(rt, claimed, attempt.policy, report, counted=not attempt.probe)
        return
    if outcome == Outcome.DEADLINE:
        log.error(f"{attempt.kind}.deadline_exceeded")
        reason = attempt.no_answer_reason
    elif outcome == Outcome.UNKNOWN:
        log.error(f"{attempt.kind}.outcome_unknown", error=text)
        reason = text
    else:  # our own failure mid-request: it may or may not have left
        log.error(f"{attempt.kind}.crashed", exc_info=exc)
        reason = f"{attempt.crash_reason}: {exc!r}"
    await batches.unknown(rt, claimed, attempt.policy, Report(reason, status_code))


async def _pause_account(rt: Runtime, attempt: Attempt, retry_after: float) -> None:
    """The provider asked us to wait: every worker sending for this account waits."""
    seconds = min(retry_after, attempt.pause_cap)
    try:
        await rt.limiter.pause(attempt.account, seconds)
    except Exception:
        # Redis unreachable: this batch still waits its Retry-After (its due time).
        log.exception(f"{attempt.kind}.pause_failed", account=attempt.account)
    else:
        log.warning(f"{attempt.kind}.account_paused", seconds=seconds)


async def with_db_retries(write: Callable[[], Awaitable[None]], tries: int = 4) -> None:
    """The provider has answered: a database blip must not turn a known outcome into an
    unknown one, so the write is tried again for a few seconds."""
    for attempt in range(1, tries + 1):
        try:
            await write()
            return
        except (DBAPIError, OSError):
            if attempt == tries:
                raise
            log.warning("request.outcome_write_retry", attempt=attempt)
            await asyncio.sleep(attempt)
