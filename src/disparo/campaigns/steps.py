"""The second-step job (gosac-start, salesforce-mkc): one job = one claimed step row.

The row was written with its due time when the campaign's sends ended (followups.py); the
delayed job only carries its ids, and the reconciler adds it again when Redis lost it. The
row moves through the same lifecycle as a send (batches.py): attempts recorded, retried
with its policy's backoff, a dead letter once they are spent, redriven like any. Its request
is one of the provider account's requests: it takes a slot of the limit its sends share.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from collections.abc import Mapping
from typing import Any

import structlog

from disparo import net as outbound
from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey, Claimed, Report
from disparo.campaigns.breaker_gate import admit, probing, waiting_reason
from disparo.campaigns.failed_requests import Attempt, record_failure, with_db_retries
from disparo.campaigns.followups import FollowUp, step_spec
from disparo.campaigns.liveness import stamp_and_take_slot
from disparo.campaigns.models import BatchStatus, Campaign, CampaignStatus
from disparo.campaigns.windows import held_by_window
from disparo.config import Settings
from disparo.providers.base import Provider, ProviderCode
from disparo.providers.policy import ProviderPolicy, account_id, policy_for, step_key
from disparo.providers.steps import RunsSecondStep, StepRequest
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)


def step_policy(settings: Settings, provider: str, spec: FollowUp) -> ProviderPolicy:
    """The global retry delays, the step's own attempt limit, and "deduplicates" for a
    step that is harmless to run twice; then the operator's DISPARO_PROVIDER_POLICIES entry
    for the step, keyed "PROVIDER:step" (e.g. "GOSAC:start", "SALESFORCE:mkc")."""
    policy = ProviderPolicy(
        base_delay=settings.retry_base_delay,
        max_delay=settings.retry_max_delay,
        max_attempts=spec.max_attempts,
        deduplicates=spec.idempotent,
    )
    overrides = settings.provider_policies.get(step_key(provider, spec.step), {})
    return dataclasses.replace(policy, **overrides)


async def run_step(rt: Runtime, campaign_id: uuid.UUID, step: str, sequence: int) -> None:
    key = BatchKey(campaign_id, step, sequence)
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        batch = await batches.find(session, key)
        send = await batches.find(session, BatchKey.send(campaign_id, sequence))
    if campaign is None or batch is None or batch.status != BatchStatus.PENDING:
        return  # done, in flight elsewhere, or unknown: nothing to do (idempotent re-run)
    if campaign.status != CampaignStatus.COMPLETED:
        return  # a cancelled campaign does not start
    provider = rt.providers.get(ProviderCode(campaign.provider))
    if not isinstance(provider, RunsSecondStep):
        log.error("step.no_provider", provider=campaign.provider, step=str(step))
        return
    structlog.contextvars.bind_contextvars(
        agendamento_id=campaign.agendamento_id, provider=campaign.provider, step=str(step)
    )
    # A second step obeys its provider's window and the campaign's, as its sends did.
    if await held_by_window(rt, campaign, policy_for(rt.settings, provider), key):
        return
    claimed = await batches.claim(rt, key)
    if claimed is None:
        return
    spec = step_spec(rt.settings, step)
    request = StepRequest(
        campaign.agendamento_id,
        campaign.env_id or "",
        batch.provider_reference,
        send.response if send is not None and spec.per_send_batch else None,
    )
    await _attempt(rt, provider, campaign, spec, request, claimed)


async def _attempt(
    rt: Runtime,
    provider: Provider,
    campaign: Campaign,
    spec: FollowUp,
    request: StepRequest,
    claimed: Claimed,
) -> None:
    """One run of a claimed step, and its outcome recorded."""
    assert isinstance(provider, RunsSecondStep)
    env_id = request.env_id

    async def fetch(path: str) -> Mapping[str, Any]:
        return await rt.wordpress.fetch_credentials(path, env_id)

    # left: the request may have left, so the provider may have acted; probe: its token.
    account, left, probe = "", False, ""
    try:
        async with asyncio.timeout(claim_deadline(rt.settings, spec)):
            credentials = await rt.wordpress.credentials_for(provider, env_id)
            account = account_id(provider, credentials)
            probe = await _admitted(rt, provider, account)
            async with probing(rt, account, probe):
                if not await _stamp_with_slot(rt, provider, account, claimed):
                    return  # judged while this worker was away: another claim runs it
                left = True
                # Its account's health and breaker count it like a send; it may be the probe.
                watched = rt.watch.request(account, policy_for(rt.settings, provider), probe)
                async with watched:
                    with outbound.calling(campaign.provider):
                        answer = await provider.run_step(rt.http, credentials, request, fetch)
    except _NoSlot as late:
        # Nothing left: no attempt spent. A breaker's wait says why in the step's history.
        await batches.give_back(rt, claimed, late.wait, late.reason)
    except Exception as exc:
        attempt = Attempt(
            "step",
            account,
            step_policy(rt.settings, campaign.provider, spec),
            policy_for(rt.settings, provider).retry_after_cap,  # a pause holds the account
            "sem resposta a tempo",
            "erro interno no passo",
            request_left=left,
            probe=bool(probe),
        )
        await with_db_retries(functools.partial(record_failure, rt, claimed, attempt, exc))
    else:
        log.info("step.done")
        await with_db_retries(lambda: batches.step_done(rt, claimed, answer))


async def _admitted(rt: Runtime, provider: Provider, account: str) -> str:
    """The account's circuit breaker, asked as a send asks it: while it is open (or the
    operator holds the account) the step waits PENDING, costing no attempt, rather than
    spending its attempts on a provider known to be down. The probe's token, when it is one."""
    admission = await admit(rt, account, policy_for(rt.settings, provider))
    if admission.wait:
        raise _NoSlot(admission.wait, await waiting_reason(rt, account))
    return admission.token


def claim_deadline(settings: Settings, spec: FollowUp) -> float:
    """How long a claimed step may take: its own timeout, plus its wait for a slot (which
    is not the provider's time; the reconciler judges a claim older than this stale)."""
    return spec.timeout_s + settings.rate_limit_max_wait


class _NoSlot(Exception):
    """The account's limit asks for a longer wait than a claim is held, or cannot be read;
    or its breaker holds it back (`reason` then says so)."""

    def __init__(self, wait: float, reason: str = "") -> None:
        super().__init__(reason or f"limite de envio: {wait:.1f} s")
        self.wait, self.reason = wait, reason


async def _stamp_with_slot(rt: Runtime, provider: Provider, account: str, claimed: Claimed) -> bool:
    """Stamp the step's request and take one slot of the account's send limit, as a send
    does (liveness.py): a worker that dies before the stamp provably ran nothing, so its step
    is run again rather than left UNKNOWN, and one judged while it was away runs nothing.
    A step adds no recipients (its send counted them). Without the slot, the 1,000 starts of
    a 1,000-batch campaign, all due at once, would leave at once. False: the claim is lost."""
    policy = policy_for(rt.settings, provider)
    wait = await stamp_and_take_slot(rt, claimed, account, policy, 0)
    if wait:
        raise _NoSlot(wait)
    return wait is not None


async def expire_stale_step(rt: Runtime, claimed: Claimed) -> None:
    """A step still SENDING, stamped, after its worker died: run again if idempotent, else
    UNKNOWN. Nothing when `claimed`, the claim the judge saw, no longer holds the step."""
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, claimed.key.campaign_id)
    assert campaign is not None
    policy = step_policy(rt.settings, campaign.provider, step_spec(rt.settings, claimed.key.step))
    await batches.unknown(rt, claimed, policy, Report("o worker parou durante o passo"))
