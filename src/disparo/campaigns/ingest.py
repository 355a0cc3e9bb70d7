"""The dispatch-campaign job: fetch rows and credentials, record every recipient, plan batches.

Rows stream from WordPress straight into the database (COPY on PostgreSQL), so memory stays
flat whatever the campaign size.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.fallback import provider_channel
from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.campaigns.opt_outs import suppression_lookup
from disparo.campaigns.outcomes import fail_campaign, open_batch_jobs
from disparo.campaigns.repeats import SuspectRepeats, refill_batches, skip_repeats
from disparo.campaigns.repository import lock_campaign
from disparo.campaigns.row_plan import (
    IngestTally,
    RowDecision,
    ValidationFailed,
    chain,
    decide_rows,
    first_row,
    rules_for,
)
from disparo.campaigns.rows import extra_of, row_id_of, text
from disparo.db.base import utcnow
from disparo.errors import Outcome, classify, message_of
from disparo.providers.base import Provider, ProviderCode
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)

COLUMNS = (
    "campaign_id", "row_index", "row_id", "batch_seq", "phone", "name", "cpf_cnpj", "id_carteira",
    "idgis_ambiente", "idcob_contrato", "message", "extra", "status", "attempts",
    "skip_reason", "created_at",
)  # fmt: skip
SQLITE_CHUNK = 2_000


async def run_dispatch(rt: Runtime, campaign_id: uuid.UUID, *, last_attempt: bool) -> None:
    async with rt.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != CampaignStatus.QUEUED:
            return  # unknown, or already past ingest: nothing to do (idempotent re-run)
        provider = rt.providers.get(ProviderCode(campaign.provider))
        already_planned = await open_batch_jobs(session, campaign)
    if already_planned:
        await enqueue_all(rt.queues, already_planned)
        return
    structlog.contextvars.bind_contextvars(
        agendamento_id=campaign.agendamento_id, provider=campaign.provider
    )
    try:
        if provider is None:
            raise ValidationFailed(f"Fornecedor {campaign.provider} não é atendido pelo disparo")
        jobs = await _ingest(rt, campaign_id, campaign.agendamento_id, provider)
    except Exception as exc:
        await _dispatch_failed(rt, campaign_id, exc, last_attempt=last_attempt)
    else:
        await enqueue_all(rt.queues, jobs)


async def _dispatch_failed(
    rt: Runtime, campaign_id: uuid.UUID, exc: Exception, *, last_attempt: bool
) -> None:
    """WordPress down, or our own failure (a database error, a bug): raised again so the job
    is retried, and on the last attempt the campaign fails loudly instead of staying QUEUED
    with nobody knowing why. Unusable data or credentials fail it at once."""
    outcome = classify(exc)
    if not outcome.final and not last_attempt:
        if outcome == Outcome.RETRY:
            log.warning("dispatch.wordpress_unavailable", error=message_of(exc), retrying=True)
        else:
            log.exception("dispatch.crashed", retrying=True)
        raise exc
    if outcome.final or outcome == Outcome.RETRY:
        reason = message_of(exc)
    else:
        log.exception("dispatch.crashed", retrying=False)
        reason = f"erro ao processar os dados: {exc!r}"
    credentials = outcome == Outcome.CREDENTIALS or getattr(exc, "phase", "") == "credenciais"
    await _fail(rt, campaign_id, "erro_credenciais" if credentials else "erro_validacao", reason)


async def _fail(rt: Runtime, campaign_id: uuid.UUID, webhook_status: str, reason: str) -> None:
    log.warning("dispatch.failed", webhook_status=webhook_status, reason=reason)
    async with rt.sessions() as session, session.begin():
        campaign = await lock_campaign(session, campaign_id)
        if not await _still_unplanned(session, campaign):
            return  # another run got further meanwhile: its outcome stands
        jobs = await fail_campaign(session, rt.settings, campaign, webhook_status, reason)
    await enqueue_all(rt.queues, jobs)


async def _still_unplanned(session: AsyncSession, campaign: Campaign) -> bool:
    if campaign.status != CampaignStatus.QUEUED:
        return False
    planned = await session.scalar(
        select(ProviderBatch.id).where(ProviderBatch.campaign_id == campaign.id).limit(1)
    )
    return planned is None


async def _ingest(
    rt: Runtime, campaign_id: uuid.UUID, agendamento_id: str, provider: Provider
) -> list[PendingJob]:
    started = utcnow()
    rows = rt.wordpress.stream_rows(agendamento_id)
    try:
        # First row and credentials before the write transaction: on SQLite that holds the
        # one write lock, and the API should not wait for WordPress through it.
        first, env_id = await first_row(rows)
        # Fail early with erro_credenciais; each send fetches them again (never stored).
        credentials = await rt.wordpress.credentials_for(provider, env_id)
        async with rt.sessions() as session, session.begin():
            campaign = await lock_campaign(session, campaign_id)
            if not await _still_unplanned(session, campaign):
                return []  # a concurrent run of this job got here first
            tally = IngestTally(batch_size=provider.batch_size())
            repeats = SuspectRepeats()
            async with suppression_lookup(rt.sessions, session) as suppressed:
                rules = rules_for(provider, credentials, suppressed, repeats)
                decisions = decide_rows(chain(first, rows), tally, rules)
                records = _records(decisions, campaign.id, started, provider.needs_row_extra)
                await _bulk_insert(session, records)
            await _skip_repeats(session, campaign.id, repeats, tally)
            campaign.body_text = text(first, "mensagem")
            jobs = await _plan(session, rt, campaign, env_id, tally)
    finally:
        await rows.aclose()
    log.info(
        "dispatch.ingested",
        recipients=tally.total,
        skipped=tally.skipped,
        batches=len(tally.batch_counts),
        seconds=round((utcnow() - started).total_seconds(), 3),
    )
    return jobs


async def _skip_repeats(
    session: AsyncSession, campaign_id: uuid.UUID, repeats: SuspectRepeats, tally: IngestTally
) -> None:
    """The repeats the stream only suspected, settled on the recorded rows before batches
    are planned from the tally."""
    if not repeats.suspects:
        return
    lost = await skip_repeats(session, campaign_id, repeats.suspects)
    if lost:
        await refill_batches(session, campaign_id, tally.lose(lost))


async def _records(
    decisions: AsyncIterator[RowDecision],
    campaign_id: uuid.UUID,
    now: datetime,
    keep_extra: bool,
) -> AsyncIterator[tuple[Any, ...]]:
    """The campaign_messages rows of the decisions, in COLUMNS order."""
    pending, skipped = MessageStatus.PENDING.value, MessageStatus.SKIPPED.value
    async for d in decisions:
        row = d.row
        status = skipped if d.batch_seq is None else pending
        yield (
            campaign_id, d.index, row_id_of(row), d.batch_seq, d.phone, text(row, "nome")[:255],
            text(row, "cpf_cnpj")[:32], text(row, "id_carteira")[:100],
            text(row, "idgis_ambiente")[:100], text(row, "idcob_contrato")[:100],
            text(row, "mensagem"), extra_of(row) if keep_extra else None, status, 0,
            d.skip_reason, now,
        )  # fmt: skip


async def _bulk_insert(session: AsyncSession, records: AsyncIterator[tuple[Any, ...]]) -> None:
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            CampaignMessage.__tablename__, records=_as_copy_rows(records), columns=COLUMNS
        )
        return
    chunk: list[dict[str, Any]] = []
    async for record in records:
        chunk.append(dict(zip(COLUMNS, record, strict=True)))
        if len(chunk) >= SQLITE_CHUNK:
            await session.execute(insert(CampaignMessage), chunk)
            chunk = []
    if chunk:
        await session.execute(insert(CampaignMessage), chunk)


async def _as_copy_rows(records: AsyncIterator[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    extra_at = COLUMNS.index("extra")
    async for record in records:
        extra = record[extra_at]
        if extra is None:
            yield record
        else:
            yield (*record[:extra_at], orjson.dumps(extra).decode(), *record[extra_at + 1 :])


async def _plan(
    session: AsyncSession, rt: Runtime, campaign: Campaign, env_id: str, tally: IngestTally
) -> list[PendingJob]:
    campaign.env_id = env_id
    campaign.total_messages = tally.total
    campaign.skipped_messages = tally.skipped
    if not tally.batch_counts:
        return await fail_campaign(
            session,
            rt.settings,
            campaign,
            "erro_validacao",
            f"Nenhum destinatário válido ({tally.skipped} linhas ignoradas)",
        )
    batches = [
        ProviderBatch(
            campaign_id=campaign.id,
            step=BatchStep.SEND,
            sequence=sequence,
            status=BatchStatus.PENDING,
            message_count=count,
            channel=provider_channel(campaign.provider),
        )
        for sequence, count in enumerate(tally.batch_counts)
    ]
    session.add_all(batches)
    await session.flush()
    return await open_batch_jobs(session, campaign)
