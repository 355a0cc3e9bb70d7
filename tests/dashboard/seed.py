"""Campaigns written straight into the database, in the states the dead-letter and rate
tests need (no worker, no provider: fast and exact)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from disparo.campaigns.models import (
    BatchStatus,
    BatchStep,
    Campaign,
    CampaignMessage,
    CampaignStatus,
    MessageStatus,
    ProviderBatch,
)
from disparo.db.base import utcnow
from disparo.runtime import Runtime

_MESSAGE = {BatchStatus.FAILED: MessageStatus.FAILED, BatchStatus.UNKNOWN: MessageStatus.UNKNOWN}


@dataclass(frozen=True, slots=True)
class Batch:
    status: BatchStatus
    recipients: int
    error: str | None = None
    dead_since: timedelta | None = None  # a dead letter since then (FAILED only)
    finished_ago: timedelta | None = None


async def add_campaign(
    rt: Runtime,
    agendamento_id: str,
    provider: str,
    status: CampaignStatus,
    batches: list[Batch],
    *,
    started_ago: timedelta = timedelta(minutes=10),
    paused: bool = False,
) -> uuid.UUID:
    now = utcnow()
    campaign_id = uuid.uuid4()
    total = sum(b.recipients for b in batches)
    sent = sum(b.recipients for b in batches if b.status == BatchStatus.SENT)
    failed = sum(b.recipients for b in batches if b.status == BatchStatus.FAILED)
    unknown = sum(b.recipients for b in batches if b.status == BatchStatus.UNKNOWN)
    async with rt.sessions() as session, session.begin():
        session.add(
            Campaign(
                id=campaign_id,
                agendamento_id=agendamento_id,
                provider=provider,
                status=status,
                total_messages=total,
                sent_messages=sent,
                failed_messages=failed,
                unknown_messages=unknown,
                started_at=now - started_ago,
                paused_at=now if paused else None,
                created_at=now - started_ago,
            )
        )
        await session.flush()
        row = 0
        for sequence, batch in enumerate(batches):
            session.add(_batch(campaign_id, sequence, batch, now))
            for _ in range(batch.recipients):
                session.add(_message(campaign_id, sequence, row, batch))
                row += 1
    return campaign_id


def _batch(campaign_id: uuid.UUID, sequence: int, batch: Batch, now: datetime) -> ProviderBatch:
    finished = now - batch.finished_ago if batch.finished_ago is not None else None
    return ProviderBatch(
        campaign_id=campaign_id,
        step=BatchStep.SEND,
        sequence=sequence,
        status=batch.status,
        message_count=batch.recipients,
        sent_count=batch.recipients if batch.status == BatchStatus.SENT else 0,
        failed_count=batch.recipients if batch.status == BatchStatus.FAILED else 0,
        attempts=2 if batch.status != BatchStatus.PENDING else 0,
        last_error=batch.error,
        finished_at=finished,
        dead_lettered_at=now - batch.dead_since if batch.dead_since is not None else None,
    )


def _message(campaign_id: uuid.UUID, sequence: int, row: int, batch: Batch) -> CampaignMessage:
    return CampaignMessage(
        campaign_id=campaign_id,
        row_index=row,
        batch_seq=sequence,
        phone=f"55119{row:08d}",
        status=_MESSAGE.get(batch.status, MessageStatus.PENDING),
        last_error=batch.error,
    )


DEAD = Batch(
    BatchStatus.FAILED, 10, "HTTP 503 from CDA", timedelta(minutes=5), timedelta(minutes=5)
)


async def add_problems(rt: Runtime) -> dict[str, uuid.UUID]:
    """Three dead letters and one UNKNOWN send that the Dead letters page lists, and what
    it must not: a SENT batch, a FAILED one with attempts left, a cancelled campaign's."""
    day = timedelta(days=2)
    return {
        "C-DEAD-CDA": await add_campaign(
            rt,
            "C-DEAD-CDA",
            "CDA",
            CampaignStatus.FAILED,
            [DEAD, Batch(BatchStatus.SENT, 10), DEAD, Batch(BatchStatus.FAILED, 10, "HTTP 500")],
        ),
        "C-MIXED-GOSAC": await add_campaign(
            rt,
            "C-MIXED-GOSAC",
            "GOSAC",
            CampaignStatus.PROCESSING,
            [
                Batch(BatchStatus.UNKNOWN, 5, "timeout after 30 s", None, timedelta(minutes=1)),
                Batch(BatchStatus.FAILED, 5, "HTTP 422 Equipe sem saldo", day, day),
            ],
        ),
        "C-CANCELLED": await add_campaign(
            rt, "C-CANCELLED", "CDA", CampaignStatus.CANCELLED, [DEAD]
        ),
    }
