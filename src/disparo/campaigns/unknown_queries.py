"""The job that asks a provider what became of a batch left UNKNOWN (`unknown-queries`),
added with a delay when the batch ended UNKNOWN (unknown_jobs.py), again by the reconciler
if Redis lost it. It asks about the recipients the batch left UNKNOWN and hands the answer,
or why there was none, to unknown_answers.py, which applies it to that claim only."""

from __future__ import annotations

import asyncio
import uuid

import structlog
from sqlalchemy import select

from disparo import net as outbound
from disparo import redaction
from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey
from disparo.campaigns.failed_requests import with_db_retries
from disparo.campaigns.fallback import batch_provider
from disparo.campaigns.models import (
    BatchStatus,
    Campaign,
    CampaignMessage,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.unknown_answers import AskedClaim, record_answer, record_no_answer
from disparo.errors import message_of
from disparo.providers.base import Provider
from disparo.providers.registry import BY_CODE
from disparo.providers.unknowns import ReceivedPhones, ResolvesUnknown, UnknownBatch
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

NOBODY_UNKNOWN = "o lote não tem destinatários sem confirmação"


async def run_unknown_query(
    rt: Runtime, campaign_id: uuid.UUID, sequence: int, attempt: int
) -> None:
    """Ask about the claim `attempt` of the batch, if it is still UNKNOWN from that claim.
    Idempotent: a claim already answered, or retried since, is left alone."""
    key = BatchKey.send(campaign_id, sequence)
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        batch = await batches.find(session, key)
        if campaign is None or batch is None:
            return
        if batch.status != BatchStatus.UNKNOWN or batch.attempts != attempt:
            return
        phones = list(
            await session.scalars(
                select(CampaignMessage.phone).where(
                    CampaignMessage.campaign_id == campaign_id,
                    CampaignMessage.batch_seq == sequence,
                    CampaignMessage.status == MessageStatus.UNKNOWN,
                )
            )
        )
    provider = batch_provider(rt.settings, rt.providers, campaign, batch.channel)
    plugin = BY_CODE.get(campaign.provider)
    asked = AskedClaim(
        campaign_id, sequence, attempt, plugin.label if plugin else campaign.provider
    )
    structlog.contextvars.bind_contextvars(
        agendamento_id=campaign.agendamento_id, provider=campaign.provider, batch=sequence
    )
    # Each way out writes the claim's answer, even "nothing to ask": without one the
    # reconciler would add this question again on every pass for a day.
    unanswerable = _unanswerable(provider, batch, phones)
    if unanswerable:
        await with_db_retries(lambda: record_no_answer(rt, asked, unanswerable))
        return
    assert isinstance(provider, ResolvesUnknown) and batch.claimed_at is not None
    question = UnknownBatch(phones, batch.claimed_at)
    try:
        answer = await _ask(rt, campaign, provider, question)
    except TimeoutError:
        reason = f"sem resposta em {rt.settings.send_deadline:.0f} s"
        await with_db_retries(lambda: record_no_answer(rt, asked, reason))
        return
    except Exception as exc:  # any failure to get an answer: the operator decides
        reason = redaction.mask_text(message_of(exc))[:500]
        log.warning("unknown.query_failed", error=reason)
        await with_db_retries(lambda: record_no_answer(rt, asked, reason))
        return
    await with_db_retries(lambda: record_answer(rt, asked, answer))


def _unanswerable(provider: Provider | None, batch: ProviderBatch, phones: list[str]) -> str:
    """Why the question cannot be asked at all ("" when it can)."""
    if not phones:  # nothing left UNKNOWN in it: nothing to ask, nothing to resend
        return NOBODY_UNKNOWN
    if not isinstance(provider, ResolvesUnknown):
        return "a rota deste lote não sabe dizer o que recebeu"
    if batch.claimed_at is None:
        return "o lote não guarda a hora do envio: não há desde quando perguntar"
    return ""


async def _ask(
    rt: Runtime, campaign: Campaign, provider: Provider, question: UnknownBatch
) -> ReceivedPhones:
    """Credentials from WordPress as for a send (never stored), then the provider's answer,
    within the send deadline whatever the adapter's own timeouts."""
    assert isinstance(provider, ResolvesUnknown)
    async with asyncio.timeout(rt.settings.send_deadline):
        credentials = await rt.wordpress.credentials_for(provider, campaign.env_id or "")
        with outbound.calling(campaign.provider):
            return await provider.received_phones(rt.http, credentials, question)
