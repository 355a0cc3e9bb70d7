"""The dispatch-campaign job: fetch rows and credentials, record every recipient, plan batches.

Rows stream from WordPress straight into the database (COPY on PostgreSQL), so memory stays
flat whatever the campaign size.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
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
from disparo.campaigns.opt_outs import SuppressedAmong, suppression_lookup, with_opt_outs
from disparo.campaigns.outcomes import fail_campaign, open_batch_jobs
from disparo.campaigns.repository import lock_campaign
from disparo.campaigns.rows import CheckedRow, RowChecker, env_id_of, extra_of, text
from disparo.db.base import utcnow
from disparo.errors import Outcome, classify, message_of
from disparo.providers.base import GroupsRecipients, Provider, ProviderCode
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime
from disparo.wordpress.client import NoDataError

log = structlog.get_logger(__name__)

COLUMNS = (
    "campaign_id", "row_index", "batch_seq", "phone", "name", "cpf_cnpj", "id_carteira",
    "idgis_ambiente", "idcob_contrato", "message", "extra", "status", "attempts",
    "skip_reason", "created_at",
)  # fmt: skip
SQLITE_CHUNK = 2_000
NOT_AN_OBJECT = CheckedRow("", "linha não é um objeto JSON")


class ValidationFailed(Exception):
    """The rows cannot make a campaign: erro_validacao."""

    outcome = Outcome.INVALID  # read by disparo.errors.classify


@dataclass
class IngestTally:
    """What went into the database while the rows streamed past."""

    batch_size: int
    total: int = 0
    skipped: int = 0
    batch_counts: list[int] = field(default_factory=list)
    # The batch still filling, per group of recipients ("" when the provider has no groups).
    _filling: dict[str, int] = field(default_factory=dict)

    def place(self, group: str = "") -> int:
        """The batch of the next valid recipient: batches fill in row order, each with
        recipients of one group only."""
        sequence = self._filling.get(group)
        if sequence is None or self.batch_counts[sequence] >= self.batch_size:
            sequence = len(self.batch_counts)
            self.batch_counts.append(0)
            self._filling[group] = sequence
        self.batch_counts[sequence] += 1
        return sequence


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
        first = await anext(rows, None)
        if first is None:
            raise NoDataError("WordPress devolveu uma lista vazia para este agendamento")
        if not isinstance(first, dict):
            raise ValidationFailed("a primeira linha devolvida pelo WordPress não é um objeto")
        env_id = env_id_of(first)
        if not env_id:
            raise ValidationFailed("a primeira linha não tem idgis_ambiente nem id_carteira")
        # Fail early with erro_credenciais; each send fetches them again (never stored).
        credentials = await rt.wordpress.credentials_for(provider, env_id)
        async with rt.sessions() as session, session.begin():
            campaign = await lock_campaign(session, campaign_id)
            if not await _still_unplanned(session, campaign):
                return []  # a concurrent run of this job got here first
            tally = IngestTally(batch_size=provider.batch_size())
            async with suppression_lookup(rt.sessions, session) as suppressed:
                records = _records(
                    _chain(first, rows),
                    campaign.id,
                    tally,
                    started,
                    provider.needs_row_extra,
                    grouping_for(provider, credentials),
                    suppressed,
                )
                await _bulk_insert(session, records)
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


async def _chain(first: dict[str, Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for row in rest:
        yield row


async def _records(
    rows: AsyncIterator[Any],
    campaign_id: uuid.UUID,
    tally: IngestTally,
    now: datetime,
    keep_extra: bool,
    grouping: Grouping | None = None,
    suppressed: SuppressedAmong | None = None,
) -> AsyncIterator[tuple[Any, ...]]:
    async for row, checked in with_opt_outs(_checked(rows), suppressed):
        group = ""
        if checked.skip_reason is None and grouping is not None:
            group = grouping.group_of(row) or ""
            if not group:
                checked = CheckedRow(checked.phone, grouping.missing_reason)
        index = tally.total
        tally.total += 1
        if checked.skip_reason is None:
            batch_seq: int | None = tally.place(group)
            status = MessageStatus.PENDING.value
        else:
            tally.skipped += 1
            batch_seq = None
            status = MessageStatus.SKIPPED.value
        yield (
            campaign_id, index, batch_seq, checked.phone, text(row, "nome")[:255],
            text(row, "cpf_cnpj")[:32], text(row, "id_carteira")[:100],
            text(row, "idgis_ambiente")[:100], text(row, "idcob_contrato")[:100],
            text(row, "mensagem"), extra_of(row) if keep_extra else None, status, 0,
            checked.skip_reason, now,
        )  # fmt: skip


async def _checked(rows: AsyncIterator[Any]) -> AsyncIterator[tuple[dict[str, Any], CheckedRow]]:
    checker = RowChecker()
    async for item in rows:
        # Anything but an object cannot be a recipient; it is kept, SKIPPED, not dropped.
        row = item if isinstance(item, dict) else {}
        yield row, checker.check(row) if row else NOT_AN_OBJECT


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
