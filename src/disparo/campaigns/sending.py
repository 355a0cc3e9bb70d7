"""The provider send job: one job = one claimed batch = one provider request (rule 3).
The batch's states and moves are batches.py's; this decides which move an answer calls for."""

from __future__ import annotations

import asyncio
import functools
import uuid
from contextlib import aclosing
from dataclasses import dataclass

import structlog

from disparo import net as outbound
from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey, Claimed, Report
from disparo.campaigns.breaker_gate import admit, probing, waiting_reason
from disparo.campaigns.callback_tokens import callback_urls
from disparo.campaigns.failed_requests import Attempt, record_failure, with_db_retries
from disparo.campaigns.fallback import batch_provider, batch_text, no_route_reason
from disparo.campaigns.liveness import stamp_and_take_slot
from disparo.campaigns.models import (
    TERMINAL_CAMPAIGN,
    BatchStatus,
    BatchStep,
    Campaign,
    ProviderBatch,
)
from disparo.campaigns.windows import held_by_window
from disparo.errors import CredentialsError, Outcome, classify, message_of
from disparo.metrics import provider_request
from disparo.providers.base import (
    BatchRequest,
    EncodesStreamed,
    Provider,
    ProviderCode,
    SendResult,
)
from disparo.providers.policy import ProviderPolicy, account_id, policy_for
from disparo.runtime import Runtime
from disparo.wordpress.client import WordPressError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """Who a batch goes to: the adapter, its policy, the account its limits count against."""

    provider: Provider
    policy: ProviderPolicy
    credentials: object = None
    account: str = ""


async def run_send(rt: Runtime, campaign_id: uuid.UUID, sequence: int) -> None:
    key = BatchKey.send(campaign_id, sequence)
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        batch = await batches.find(session, key)
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
        await batches.fail(rt, key, Report(no_route_reason(rt.settings, campaign, batch.channel)))
        return
    route = Route(provider, policy_for(rt.settings, provider))
    if await held_by_window(rt, campaign, route.policy, key):
        return
    try:
        credentials = await rt.send_credentials.for_campaign(
            campaign.id, provider, campaign.env_id or ""
        )
    except (CredentialsError, WordPressError) as exc:
        await _credentials_failed(rt, route, key, exc)
        return
    route = Route(provider, route.policy, credentials, account_id(provider, credentials))
    # The account's circuit breaker first: while it is open (or held) the batch waits
    # PENDING, costing no attempt; when it lets one probe through, this batch is the probe.
    admission = await admit(rt, route.account, route.policy)
    if admission.wait:
        await batches.defer(rt, key, admission.wait, await waiting_reason(rt, route.account))
        return
    async with probing(rt, route.account, admission.token):
        await _claim_and_send(rt, route, campaign, batch, admission.token)


async def _claim_and_send(
    rt: Runtime, route: Route, campaign: Campaign, batch: ProviderBatch, probe_token: str
) -> None:
    key = BatchKey.send(campaign.id, batch.sequence)
    max_wait = rt.settings.rate_limit_max_wait
    # A look first: a paused account or a long queue for its limit is no reason to claim.
    ahead = await rt.limiter.try_look(route.account, route.policy, batch.message_count)
    if ahead > max_wait:
        await batches.defer(rt, key, ahead)
        return
    streamed = isinstance(route.provider, EncodesStreamed)
    claimed = await batches.claim(rt, key, with_recipients=not streamed)
    if claimed is None:
        return
    request = _request(rt, campaign, claimed, batch_text(campaign, batch.channel))
    # Encoded before the stamp: a failure reading the rows provably sent nothing.
    body = await _encoded(rt, route, request, claimed) if streamed else None

    # The slot is taken right before the request leaves, so the provider sees the spacing
    # the limiter granted (not the jitter of the database round trips); the request is
    # stamped first (liveness.py).
    wait = await stamp_and_take_slot(rt, claimed, route.account, route.policy, claimed.size)
    if wait is None:
        return  # judged while we were away (frozen, cut off): another claim sends it
    if wait:
        await batches.give_back(rt, claimed, wait)
        return
    await _send_claimed(rt, route, campaign, claimed, request, body, probe_token)


def _request(rt: Runtime, campaign: Campaign, claimed: Claimed, text: str) -> BatchRequest:
    sequence = claimed.key.sequence
    return BatchRequest(
        campaign.agendamento_id,
        campaign.env_id or "",
        sequence,
        claimed.recipients,
        campaign_text=text,
        idempotency_key=f"{campaign.id}:{BatchStep.SEND.value}:{sequence}",
        callback_urls=callback_urls(rt.settings, campaign.id),
    )


async def _encoded(rt: Runtime, route: Route, request: BatchRequest, claimed: Claimed) -> bytes:
    assert isinstance(route.provider, EncodesStreamed)
    async with aclosing(batches.recipient_chunks(rt, claimed)) as chunks:
        return await route.provider.encode_body(route.credentials, request, chunks)


async def _credentials_failed(
    rt: Runtime, route: Route, key: BatchKey, exc: CredentialsError | WordPressError
) -> None:
    """Nothing was sent. WordPress down: try later. Anything else (no credentials, a wrong
    key refused with 401): the batch fails and WordPress hears erro_credenciais."""
    report = Report(message_of(exc), webhook="erro_credenciais")
    if classify(exc) == Outcome.RETRY:
        await batches.retry(rt, key, route.policy, report)
        return
    log.error("send.credentials_failed", error=report.text)
    await batches.fail(rt, key, report)


async def _send_claimed(
    rt: Runtime,
    route: Route,
    campaign: Campaign,
    claimed: Claimed,
    request: BatchRequest,
    body: bytes | None,
    probe_token: str = "",
) -> None:
    """`body`: the request already encoded (EncodesStreamed), else built from `request`."""
    log.info("send.request", recipients=claimed.size)
    try:
        # A total deadline, well inside the reconciler's stale limit: httpx timeouts are per
        # phase, so a slow upload plus a slow answer could otherwise outlive it.
        # Watched once, here, where its outcome is known: the account's health and breaker.
        async with rt.watch.request(route.account, route.policy, probe_token):
            with provider_request(campaign.provider), outbound.calling(campaign.provider):
                async with asyncio.timeout(rt.settings.send_deadline):
                    result = await _sent_by(rt, route, request, body)
    except Exception as exc:
        rt.send_credentials.forget(campaign.id)  # a rotated key: the next batch asks again
        # A failure is a known outcome too (a refusal, a 503 to retry): a database blip
        # must not leave the batch SENDING until the reconciler calls it UNKNOWN.
        attempt = _attempt_of(rt, route, probe=bool(probe_token))
        failed = functools.partial(record_failure, rt, claimed, attempt, exc)
        await with_db_retries(failed)
    else:
        log.info("send.accepted", reference=result.reference, rejected=len(result.failed_ids))
        # batches.sent is looked up at each call: the crash tests put their fault hook there.
        await with_db_retries(lambda: batches.sent(rt, claimed, result))


async def _sent_by(
    rt: Runtime, route: Route, request: BatchRequest, body: bytes | None
) -> SendResult:
    if body is None:
        return await route.provider.send(rt.http, route.credentials, request)
    assert isinstance(route.provider, EncodesStreamed)
    return await route.provider.send_body(rt.http, route.credentials, body)


def _attempt_of(rt: Runtime, route: Route, *, probe: bool = False) -> Attempt:
    no_answer = f"sem resposta completa em {rt.settings.send_deadline:.0f} s; o fornecedor "
    return Attempt(
        "send",
        route.account,
        route.policy,
        route.policy.retry_after_cap,
        no_answer + "pode ter recebido o lote",
        "erro interno durante o envio",
        probe=probe,
    )


async def expire_stale_send(rt: Runtime, claimed: Claimed) -> None:
    """A batch still SENDING after its worker died: the request may have left, so UNKNOWN
    (or retried, for a provider that deduplicates). Nothing when `claimed`, the claim the
    judge saw, no longer holds the batch."""
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, claimed.key.campaign_id)
        batch = await batches.find(session, claimed.key)
    assert campaign is not None and batch is not None
    # Judged by the policy of whoever sent it: an SMS fallback batch went through the SMS route.
    sender = batch_provider(rt.settings, rt.providers, campaign, batch.channel)
    provider = sender or rt.providers[ProviderCode(campaign.provider)]
    reason = "o worker parou durante o envio; o fornecedor pode ter recebido o lote"
    await batches.unknown(rt, claimed, policy_for(rt.settings, provider), Report(reason))
