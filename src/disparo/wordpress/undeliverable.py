"""Webhooks WordPress never took: listed with their last error and replayed on request, like
dead letters. Shared by the API (`/webhooks/...`) and the CLI (`disparo webhooks ...`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.errors import Conflict, NotFound
from disparo.queues.jobs import PendingJob
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox
from disparo.wordpress.webhooks import job_for_entry

_later = aliased(WebhookOutbox)
# A later webhook of the same campaign reached WordPress: replaying this one would put an
# older status (say `processando`) over a newer one (`enviado`).
SUPERSEDED = exists().where(
    _later.campaign_id == WebhookOutbox.campaign_id,
    _later.id > WebhookOutbox.id,
    _later.status == OutboxStatus.DELIVERED,
)


@dataclass(frozen=True, slots=True)
class UndeliverableWebhook:
    id: int
    campaign_id: str | None
    agendamento_id: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    superseded: bool
    payload: dict[str, Any]


async def list_undeliverable(
    session: AsyncSession, *, agendamento_id: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[UndeliverableWebhook], int]:
    """Oldest first, with the total."""
    where = [WebhookOutbox.status == OutboxStatus.FAILED]
    if agendamento_id:
        where.append(WebhookOutbox.agendamento_id == agendamento_id)
    total = await session.scalar(select(func.count()).select_from(WebhookOutbox).where(*where))
    rows = await session.execute(
        select(WebhookOutbox, SUPERSEDED.label("superseded"))
        .where(*where)
        .order_by(WebhookOutbox.id)
        .limit(limit)
        .offset(offset)
    )
    return [_view(entry, bool(superseded)) for entry, superseded in rows], int(total or 0)


def _view(entry: WebhookOutbox, superseded: bool) -> UndeliverableWebhook:
    return UndeliverableWebhook(
        id=entry.id,
        campaign_id=str(entry.campaign_id) if entry.campaign_id else None,
        agendamento_id=entry.agendamento_id,
        status=str(entry.payload.get("status", "")),
        attempts=entry.attempts,
        last_error=entry.last_error,
        created_at=entry.created_at,
        superseded=superseded,
        payload=entry.payload,
    )


async def replay(
    session: AsyncSession, settings: Settings, outbox_id: int, *, force: bool = False
) -> PendingJob:
    """Put an undeliverable webhook back in the queue with a fresh retry window. The caller
    commits, then adds the returned job. It is delivered in its campaign's order."""
    row = (
        await session.execute(
            select(WebhookOutbox, SUPERSEDED)
            .where(WebhookOutbox.id == outbox_id)
            .with_for_update(of=WebhookOutbox)
        )
    ).first()
    if row is None:
        raise NotFound(f"Webhook {outbox_id} não encontrado")
    entry, superseded = row
    if entry.status != OutboxStatus.FAILED:
        raise Conflict(
            f"Webhook {outbox_id} está {entry.status.value}: só webhooks não entregues "
            "(FAILED) podem ser reenviados"
        )
    if superseded and not force:
        raise Conflict(
            f"Webhook {outbox_id} ({entry.payload.get('status')}) é anterior a um status já "
            "entregue desta campanha; reenviá-lo sobrescreveria o status mais novo no "
            "WordPress. Use force para reenviar mesmo assim"
        )
    if entry.campaign_id is None:
        raise Conflict(f"Webhook {outbox_id} não pertence a uma campanha existente")
    entry.status = OutboxStatus.PENDING
    entry.next_attempt_at = None
    entry.retry_until = utcnow() + timedelta(seconds=settings.webhook_retry_window)
    await session.flush()
    return job_for_entry(entry, settings)
