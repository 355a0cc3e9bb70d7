"""Accepting a dispatch order: validate, persist, then enqueue (rules 2 and 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from disparo.campaigns.models import Campaign, CampaignStatus
from disparo.campaigns.windows import WindowError, check_campaign_window
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.errors import BadRequest
from disparo.providers.policy import policy_for
from disparo.providers.registry import identify_provider
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.queues.names import QueueName, dispatch_job_id
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchOutcome:
    campaign: Campaign
    created: bool


def dispatch_job(settings: Settings, campaign: Campaign) -> PendingJob:
    return PendingJob(
        QueueName.DISPATCH_CAMPAIGN,
        dispatch_job_id(campaign.agendamento_id),
        {"campaign_id": str(campaign.id)},
        attempts=settings.dispatch_attempts,
        backoff_s=settings.dispatch_retry_delay,
    )


def served_provider(rt: Runtime, agendamento_id: str) -> str:
    """The code of the provider serving this agendamento, or the 400 a dispatch (and a
    preflight) answers: an unknown prefix, or a provider this disparo does not serve."""
    provider = identify_provider(agendamento_id)
    if provider is None:
        raise BadRequest(
            f"agendamento_id {agendamento_id!r} não começa por um prefixo de fornecedor conhecido"
        )
    if provider not in rt.providers:
        raise BadRequest(f"o fornecedor {provider} ainda não é atendido por este disparo")
    return provider


async def dispatch(
    rt: Runtime, agendamento_id: str, send_window: dict[str, Any] | None = None
) -> DispatchOutcome:
    """`send_window`: the campaign's own window spec (the body's janela_envio), or None."""
    provider = served_provider(rt, agendamento_id)
    existing = await _existing(rt, agendamento_id)
    if existing is not None:
        return DispatchOutcome(existing, created=False)
    if send_window is not None:
        policy = policy_for(rt.settings, rt.providers[provider])
        try:
            check_campaign_window(rt.settings, send_window, policy, utcnow())
        except WindowError as exc:
            raise BadRequest(str(exc)) from None
    campaign = Campaign(
        agendamento_id=agendamento_id,
        provider=provider,
        status=CampaignStatus.QUEUED,
        send_window=send_window,
    )
    try:
        async with rt.sessions() as session, session.begin():
            session.add(campaign)
    except IntegrityError:
        # Two dispatches of one agendamento raced; the other one created it.
        existing = await _existing(rt, agendamento_id)
        assert existing is not None
        return DispatchOutcome(existing, created=False)
    log.info(
        "dispatch.accepted",
        campaign_id=str(campaign.id),
        agendamento_id=agendamento_id,
        provider=provider,
    )
    # Committed: if Redis is down now, the reconciler enqueues it when Redis is back.
    await enqueue_all(rt.queues, [dispatch_job(rt.settings, campaign)])
    return DispatchOutcome(campaign, created=True)


async def _existing(rt: Runtime, agendamento_id: str) -> Campaign | None:
    async with rt.sessions() as session:
        return await session.scalar(
            select(Campaign).where(Campaign.agendamento_id == agendamento_id)
        )
