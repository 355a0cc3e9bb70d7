"""The provider send job: one job = one claimed batch = one provider request (rule 3)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Update, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.fallback import (
    apply_fallback,
    batch_provider,
    batch_text,
    no_route_reason,
)
from disparo.campaigns.models import (
    TERMINAL_CAMPAIGN,
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.outcomes import (
    batch_job,
    cancel_batch,
    claim_batch,
    finish_if_done,
    mark_processing,
    record_attempt,
)
from disparo.campaigns.repository import lock_campaign
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.metrics import provider_request, record_retry
from disparo.providers.base import (
    BatchRequest,
    CredentialsError,
    OutcomeUnknownError,
    Provider,
    ProviderCode,
    ProviderError,
    Recipient,
    RetryableError,
    SendResult,
)
from disparo.providers.policy import ProviderPolicy, account_id, policy_for
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime
from disparo.wordpress.client import WordPressError

log = structlog.get_logger(__name__)

# In Recipient's field order; NULLs become "" in SQL so rows map onto it as they are.
RECIPIENT_COLUMNS = (
    CampaignMessage.id,
    *(
        func.coalesce(column, "")
        for column in (
            CampaignMessage.phone,
            CampaignMessage.name,
            CampaignMessage.cpf_cnpj,
            CampaignMessage.id_carteira,
            CampaignMessage.idgis_ambiente,
            CampaignMessage.idcob_contrato,
            CampaignMessage.message,
        )
    ),
    # NULL unless the provider keeps the row's extra fields (`needs_row_extra`).
    CampaignMessage.extra,
)


@dataclass(frozen=True, slots=True)
class Route:
    """Who a batch goes to: the adapter, its policy, the account its limits count against."""

    provider: Provider
    policy: ProviderPolicy
    credentials: object = None
    account: str = ""


async def run_send(rt: Runtime, campaign_id: uuid.UUID, sequence: int) -> None:
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        batch = await _batch(session, campaign_id, sequence)
    if campaign is None or batch is None or campaign.status in TERMINAL_CAMPAIGN:
        return
    if batch.status != BatchStatus.PENDING:
        return  # already sent, in flight elsewhere, or waiting for an operator
    if campaign.paused_at is not None:
        return  # resume enqueues it again
    structlog.contextvars.bind_contextvars(
        agendamento_id=campaign.agendamento_id, provider=campaign.provider, batch=sequence
    )
    provider = batch_provider(rt.settings, rt.providers, campaign, batch.channel)
    if provider is None:  # e.g. an SMS fallback batch whose route was unconfigured meanwhile
        reason = no_route_reason(rt.settings, campaign, batch.channel)
        await _finish_batch(rt, campaign_id, sequence, BatchStatus.FAILED, reason, unclaimed=True)
        return
    route = Route(provider, policy_for(rt.settings, provider))
    try:
        credentials = await rt.wordpress.credentials_for(provider, campaign.env_id or "")
    except (CredentialsError, WordPressError) as exc:
        await _credentials_failed(rt, route, campaign_id, sequence, exc)
        return
    route = Route(provider, route.policy, credentials, account_id(provider, credentials))
    max_wait = rt.settings.rate_limit_max_wait
    # A look first: a paused account or a long queue for its limit is no reason to claim.
    ahead = await rt.limiter.wait_time(route.account, route.policy, batch.message_count, take=False)
    if ahead > max_wait:
        await _defer(rt, campaign_id, sequence, ahead)
        return
    recipients = await _claim(rt, campaign_id, sequence)
    if recipients is None:
        return
    # The slot is taken right before the request leaves, so the provider sees the spacing
    # the limiter granted (not the jitter of the claim's database round trips).
    try:
        ahead = await rt.limiter.acquire(route.account, route.policy, len(recipients), max_wait)
    except Exception:
        # Redis unreachable: nothing was sent; never send past a limit we cannot read.
        log.exception("send.rate_limit_unavailable")
        ahead = max(1.0, route.policy.base_delay)
    if ahead:
        await _give_back(rt, campaign, sequence, ahead)
        return
    text = batch_text(campaign, batch.channel)
    await _send_claimed(rt, route, campaign, sequence, recipients, text)


async def _give_back(rt: Runtime, campaign: Campaign, sequence: int, wait: float) -> None:
    """Claimed, but the limiter now asks for a long wait (a Retry-After arrived meanwhile):
    back to PENDING unsent, the claim not counted against the attempt limit."""
    log.info("send.given_back_by_rate_limit", wait_s=round(wait, 2))
    async with rt.sessions() as session, session.begin():
        current, batch = await _locked(session, campaign.id, sequence)
        if batch.status != BatchStatus.SENDING:
            return
        if current.status == CampaignStatus.CANCELLED:
            await cancel_batch(session, current, batch)  # cancelled while it waited
            return
        batch.status, batch.due_at = BatchStatus.PENDING, utcnow() + timedelta(seconds=wait)
        batch.uncounted_attempts += 1
        record_attempt(session, batch, "deferred", f"limite de envio: {wait:.1f} s")
        jobs = [batch_job(campaign, batch)]
    await enqueue_all(rt.queues, jobs)


async def _defer(rt: Runtime, campaign_id: uuid.UUID, sequence: int, wait: float) -> None:
    """The account is paused or its limit is taken for longer than a worker should wait:
    the batch stays PENDING, due then, and the reconciler enqueues it at that time."""
    log.info("send.deferred_by_rate_limit", wait_s=round(wait, 2))
    async with rt.sessions() as session, session.begin():
        _, batch = await _locked(session, campaign_id, sequence)
        if batch.status == BatchStatus.PENDING:
            batch.due_at = utcnow() + timedelta(seconds=wait)
            record_attempt(session, batch, "deferred", f"limite de envio: {wait:.1f} s")


async def _credentials_failed(
    rt: Runtime,
    route: Route,
    campaign_id: uuid.UUID,
    sequence: int,
    exc: CredentialsError | WordPressError,
) -> None:
    """Nothing was sent. WordPress down: try later. Anything else (no credentials, a wrong
    key refused with 401): the batch fails and WordPress hears erro_credenciais."""
    if isinstance(exc, WordPressError) and exc.retryable:
        await _release(rt, route.policy, campaign_id, sequence, exc.message, None, claimed=False)
        return
    log.error("send.credentials_failed", error=exc.message)
    await _finish_batch(
        rt,
        campaign_id,
        sequence,
        BatchStatus.FAILED,
        exc.message,
        unclaimed=True,
        failure_webhook="erro_credenciais",
    )


async def _send_claimed(
    rt: Runtime,
    route: Route,
    campaign: Campaign,
    sequence: int,
    recipients: list[Recipient],
    campaign_text: str,
) -> None:
    request = BatchRequest(
        campaign.agendamento_id,
        campaign.env_id or "",
        sequence,
        recipients,
        campaign_text=campaign_text,
        idempotency_key=f"{campaign.id}:{BatchStep.SEND.value}:{sequence}",
    )
    log.info("send.request", recipients=len(recipients))
    try:
        # A total deadline, well inside the reconciler's stale limit: httpx timeouts are per
        # phase, so a slow upload plus a slow answer could otherwise outlive it.
        with provider_request(campaign.provider):
            async with asyncio.timeout(rt.settings.send_deadline):
                result = await route.provider.send(rt.http, route.credentials, request)
    except TimeoutError:
        reason = f"sem resposta completa em {rt.settings.send_deadline:.0f} s; o fornecedor "
        reason += "pode ter recebido o lote"
        log.error("send.deadline_exceeded")
        await _unknown_outcome(rt, route, campaign.id, sequence, reason)
    except RetryableError as exc:
        log.warning("send.retryable", error=exc.message, status=exc.status_code)
        if exc.retry_after:
            await _pause_account(rt, route, exc.retry_after)
        await _release(
            rt, route.policy, campaign.id, sequence, exc.message, exc.retry_after,
            claimed=True, status_code=exc.status_code,
        )  # fmt: skip
    except OutcomeUnknownError as exc:
        log.error("send.outcome_unknown", error=exc.message)
        await _unknown_outcome(rt, route, campaign.id, sequence, exc.message, exc.status_code)
    except ProviderError as exc:
        log.warning("send.rejected", error=exc.message, status=exc.status_code)
        await _finish_batch(
            rt, campaign.id, sequence, BatchStatus.FAILED, exc.message, status_code=exc.status_code
        )
    except Exception as exc:
        # Our own failure mid-send: the request may or may not have left. Never resend blind.
        log.exception("send.crashed")
        reason = f"erro interno durante o envio: {exc!r}"
        await _unknown_outcome(rt, route, campaign.id, sequence, reason)
    else:
        log.info("send.accepted", reference=result.reference, rejected=len(result.failed_ids))
        await _with_db_retries(
            lambda: _record_sent(rt, campaign.id, sequence, result, len(recipients))
        )


async def _unknown_outcome(
    rt: Runtime,
    route: Route,
    campaign_id: uuid.UUID,
    sequence: int,
    reason: str,
    status_code: int | None = None,
) -> None:
    """The provider may have the batch. UNKNOWN (an operator decides), unless the adapter
    declared that its provider deduplicates: then resending is safe and it is retried."""
    if route.policy.deduplicates:
        await _release(
            rt, route.policy, campaign_id, sequence, reason, None,
            claimed=True, status_code=status_code,
        )  # fmt: skip
        return
    await _finish_batch(
        rt, campaign_id, sequence, BatchStatus.UNKNOWN, reason, status_code=status_code
    )


async def _pause_account(rt: Runtime, route: Route, retry_after: float) -> None:
    """The provider asked us to wait: every worker sending for this account waits."""
    seconds = min(retry_after, route.policy.retry_after_cap)
    try:
        await rt.limiter.pause(route.account, seconds)
    except Exception:
        # Redis unreachable: this batch still waits its Retry-After (its due time).
        log.exception("send.pause_failed", account=route.account)
    else:
        log.warning("send.account_paused", seconds=seconds)


async def _with_db_retries(write: Callable[[], Awaitable[None]], tries: int = 4) -> None:
    """The provider has answered: a database blip must not turn a known outcome into an
    unknown one, so the write is tried again for a few seconds."""
    for attempt in range(1, tries + 1):
        try:
            await write()
            return
        except (DBAPIError, OSError):
            if attempt == tries:
                raise
            log.warning("send.outcome_write_retry", attempt=attempt)
            await asyncio.sleep(attempt)


async def _batch(
    session: AsyncSession, campaign_id: uuid.UUID, sequence: int, *, lock: bool = False
) -> ProviderBatch | None:
    query = select(ProviderBatch).where(
        ProviderBatch.campaign_id == campaign_id,
        ProviderBatch.step == BatchStep.SEND,
        ProviderBatch.sequence == sequence,
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def _locked(
    session: AsyncSession, campaign_id: uuid.UUID, sequence: int
) -> tuple[Campaign, ProviderBatch]:
    """The campaign row lock first (it orders every outcome of the campaign), then the batch."""
    campaign = await lock_campaign(session, campaign_id)
    batch = await _batch(session, campaign_id, sequence, lock=True)
    assert batch is not None
    return campaign, batch


async def _claim(rt: Runtime, campaign_id: uuid.UUID, sequence: int) -> list[Recipient] | None:
    """PENDING -> SENDING in one conditional UPDATE: only one worker can win a batch."""
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, campaign_id)
        if campaign.status in TERMINAL_CAMPAIGN or campaign.paused_at is not None:
            return None
        claimed = await _execute(session, claim_batch(campaign_id, BatchStep.SEND, sequence))
        if claimed.rowcount != 1:
            return None
        jobs = await mark_processing(session, rt.settings, campaign)
        rows = await session.execute(
            select(*RECIPIENT_COLUMNS)
            .where(
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.batch_seq == sequence,
                CampaignMessage.status == MessageStatus.PENDING,
            )
            .order_by(CampaignMessage.id)
        )
        recipients = list(map(Recipient._make, rows))
    await enqueue_all(rt.queues, jobs)
    return recipients


async def _execute(session: AsyncSession, statement: Update) -> CursorResult[Any]:
    """UPDATE with its row count (the claim and the outcome depend on it)."""
    return cast(CursorResult[Any], await session.execute(statement))


def _messages_of(campaign_id: uuid.UUID, sequence: int) -> Update:
    return update(CampaignMessage).where(
        CampaignMessage.campaign_id == campaign_id,
        CampaignMessage.batch_seq == sequence,
        CampaignMessage.status == MessageStatus.PENDING,
    )


async def _record_sent(
    rt: Runtime, campaign_id: uuid.UUID, sequence: int, result: SendResult, sent_to: int
) -> None:
    """The provider took the batch. Only recipients it rejected one by one get their own
    UPDATE; the others read their status from the batch (repository.EFFECTIVE_STATUS)."""
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, campaign_id, sequence)
        if batch.status != BatchStatus.SENDING:
            log.error("send.outcome_after_release", batch_status=batch.status)
            return
        failed = 0
        for message_id, error in result.failed_ids.items():
            await session.execute(
                update(CampaignMessage)
                .where(CampaignMessage.id == message_id)
                .values(status=MessageStatus.FAILED, last_error=error, attempts=batch.attempts)
            )
            failed += 1
        fallback = await apply_fallback(session, rt.settings, rt.providers, campaign, batch, result)
        failed += fallback.failed
        sent_count = sent_to - failed - fallback.moved
        accepted = sent_count or fallback.moved
        batch.status = BatchStatus.SENT if accepted else BatchStatus.FAILED
        batch.sent_count, batch.failed_count = sent_count, failed
        batch.response, batch.provider_reference = result.response_text, result.reference
        batch.finished_at, batch.last_error = now, None
        record_attempt(session, batch, "sent" if sent_count else "rejected", result.reference)
        campaign.sent_messages += sent_count
        campaign.failed_messages += failed
        jobs = fallback.jobs + await finish_if_done(session, rt.settings, campaign)
    await enqueue_all(rt.queues, jobs)


async def _finish_batch(
    rt: Runtime,
    campaign_id: uuid.UUID,
    sequence: int,
    status: BatchStatus,
    reason: str,
    *,
    unclaimed: bool = False,
    failure_webhook: str = "erro_envio",
    status_code: int | None = None,
) -> None:
    """End a batch FAILED or UNKNOWN. `unclaimed`: nothing was sent, the batch is still
    PENDING (credentials could not be had); otherwise it is the SENDING batch of a send."""
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, campaign_id, sequence)
        if batch.status != (BatchStatus.PENDING if unclaimed else BatchStatus.SENDING):
            return  # another outcome got there first
        record_attempt(session, batch, status.value.lower(), reason, status_code)
        jobs = await _end_batch(
            session, rt.settings, campaign, batch, status, reason, unclaimed, failure_webhook
        )
    await enqueue_all(rt.queues, jobs)


async def _end_batch(
    session: AsyncSession,
    settings: Settings,
    campaign: Campaign,
    batch: ProviderBatch,
    status: BatchStatus,
    reason: str,
    unclaimed: bool,
    failure_webhook: str,
) -> list[PendingJob]:
    """Every pending message of the batch takes its outcome; the campaign may close."""
    jobs = await mark_processing(session, settings, campaign) if unclaimed else []
    message_status = (
        MessageStatus.UNKNOWN if status == BatchStatus.UNKNOWN else MessageStatus.FAILED
    )
    changed = await _execute(
        session,
        _messages_of(campaign.id, batch.sequence).values(
            status=message_status, last_error=reason, attempts=batch.attempts
        ),
    )
    count = changed.rowcount
    batch.status, batch.last_error, batch.finished_at = status, reason, utcnow()
    batch.failed_count = count
    if status == BatchStatus.UNKNOWN:
        campaign.unknown_messages += count
    else:
        campaign.failed_messages += count
    campaign.error_message = reason
    return jobs + await finish_if_done(session, settings, campaign, failure_webhook)


async def _release(
    rt: Runtime,
    policy: ProviderPolicy,
    campaign_id: uuid.UUID,
    sequence: int,
    reason: str,
    retry_after: float | None,
    *,
    claimed: bool,
    status_code: int | None = None,
) -> None:
    """The provider did not act: back to PENDING with a due time, or a dead letter once the
    attempts are spent (counted since the last redrive)."""
    async with rt.sessions() as session, session.begin():
        campaign, batch = await _locked(session, campaign_id, sequence)
        if batch.status != (BatchStatus.SENDING if claimed else BatchStatus.PENDING):
            return
        if not claimed:
            # Nothing reached the provider, but it still counts: the job id changes with
            # it, and a WordPress that stays down ends in a dead letter, not a loop.
            batch.attempts += 1
        jobs = await _retry_or_dead_letter(
            session, rt.settings, policy, campaign, batch, reason, retry_after, claimed, status_code
        )
    await enqueue_all(rt.queues, jobs)


async def _retry_or_dead_letter(
    session: AsyncSession,
    settings: Settings,
    policy: ProviderPolicy,
    campaign: Campaign,
    batch: ProviderBatch,
    reason: str,
    retry_after: float | None,
    claimed: bool,
    status_code: int | None,
) -> list[PendingJob]:
    if campaign.status == CampaignStatus.CANCELLED:
        await cancel_batch(session, campaign, batch)  # cancelled while this one was out
        return []
    tries = batch.attempts - batch.uncounted_attempts
    if tries >= policy.max_attempts:
        spent = f"{reason} (tentativas esgotadas)"
        record_attempt(session, batch, "dead_letter", spent, status_code)
        batch.dead_lettered_at = utcnow()
        return await _end_batch(
            session, settings, campaign, batch, BatchStatus.FAILED, spent,
            unclaimed=not claimed,
            # Never claimed: the credentials could not be fetched, nothing was sent.
            failure_webhook="erro_envio" if claimed else "erro_credenciais",
        )  # fmt: skip
    delay = policy.backoff(tries, retry_after)
    record_attempt(session, batch, "retry", reason, status_code)
    batch.status, batch.last_error = BatchStatus.PENDING, reason
    batch.due_at = utcnow() + timedelta(seconds=delay)
    log.info("send.retry_scheduled", delay_s=round(delay, 2), attempt=batch.attempts)
    record_retry(campaign.provider)
    return [batch_job(campaign, batch)]  # a new id: it carries the new attempt count


async def expire_stale_send(rt: Runtime, campaign_id: uuid.UUID, sequence: int) -> None:
    """A batch still SENDING after its worker died: the request may have left, so UNKNOWN
    (or retried, for a provider that deduplicates)."""
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        batch = await _batch(session, campaign_id, sequence)
    assert campaign is not None and batch is not None
    # Judged by the policy of whoever sent it: an SMS fallback batch went through the SMS route.
    sender = batch_provider(rt.settings, rt.providers, campaign, batch.channel)
    provider = sender or rt.providers[ProviderCode(campaign.provider)]
    route = Route(provider, policy_for(rt.settings, provider))
    reason = "o worker parou durante o envio; o fornecedor pode ter recebido o lote"
    await _unknown_outcome(rt, route, campaign_id, sequence, reason)
