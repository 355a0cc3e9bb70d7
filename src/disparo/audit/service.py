"""Recording and reading audit events. Recording sits where the API, the dashboard and the
CLI call the control functions (campaigns/controls.py and deadletters.py stay unaware)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from disparo.audit.models import AuditEvent
from disparo.errors import DisparoError
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Actor:
    name: str  # the API key's name, or the dashboard session's key name, or cli:USER
    via: str  # api, dashboard, cli
    client: str | None = None  # the client address (None from the CLI)


@dataclass(slots=True)
class Audited:
    """Filled in by the action: what it touched."""

    target: str
    batches: int | None = None
    recipients: int | None = None
    detail: str = ""

    def done(
        self, batches: int, recipients: int, detail: str, *, target: str | None = None
    ) -> None:
        self.batches, self.recipients, self.detail = batches, recipients, detail
        if target:
            self.target = target


async def record_event(
    rt: Runtime,
    actor: Actor,
    action: str,
    target: str,
    *,
    outcome: str = "done",
    batches: int | None = None,
    recipients: int | None = None,
    detail: str = "",
) -> None:
    """Write one event in its own transaction. A failure to write is logged, not raised:
    the action it describes has already happened (or failed) by then."""
    event = new_event(actor, action, target, outcome, batches, recipients, detail)
    try:
        async with rt.sessions() as session, session.begin():
            session.add(event)
    except (OSError, DBAPIError) as exc:
        # The database is away: one line, not a traceback (the caller says the same).
        log.error("audit.write_failed", action=action, actor=actor.name, error=str(exc))
        return
    except Exception:
        log.exception("audit.write_failed", action=action, actor=actor.name)
        return
    log.info("audit", action=action, actor=actor.name, via=actor.via, outcome=outcome)


def new_event(
    actor: Actor,
    action: str,
    target: str,
    outcome: str = "done",
    batches: int | None = None,
    recipients: int | None = None,
    detail: str = "",
) -> AuditEvent:
    """An event row, bounded and printable. `session.add` it to record a change in the very
    transaction that makes it (an opt-out reply: both happen, or neither)."""
    return AuditEvent(
        actor=actor.name[:64],
        via=actor.via,
        action=action,
        target=_printable(target)[:200],
        outcome=outcome,
        batches=batches,
        recipients=recipients,
        detail=_printable(detail)[:500] or None,
        client=(actor.client or None) and actor.client[:64],
    )


def describe_filter(where: Any) -> str:
    """The target of a redrive by filter: `campaign=… provider=…`, or `all`."""
    given = [f"{name}={getattr(where, name)}" for name in ("campaign", "provider", "error")]
    return " ".join(part for part in given if not part.endswith("=None")) or "all"


def _printable(text: str) -> str:
    # What a caller typed as a target may hold NUL bytes or lone surrogates.
    return (
        "".join(c if c.isprintable() else "?" for c in text)
        .encode("utf-8", "replace")
        .decode("utf-8")
    )


@asynccontextmanager
async def audited(rt: Runtime, actor: Actor, action: str, target: str) -> AsyncIterator[Audited]:
    """Record `action` when the block ends: done, refused (a DisparoError such as 404/409,
    re-raised) or failed (any other exception, re-raised)."""
    pending = Audited(target)
    try:
        yield pending
    except DisparoError as exc:
        await record_event(rt, actor, action, pending.target, outcome="refused", detail=exc.message)
        raise
    except Exception as exc:
        await record_event(
            rt, actor, action, pending.target, outcome="failed", detail=type(exc).__name__
        )
        raise
    await record_event(
        rt,
        actor,
        action,
        pending.target,
        batches=pending.batches,
        recipients=pending.recipients,
        detail=pending.detail,
    )


async def list_events(
    rt: Runtime, *, action: str | None, actor: str | None, before: int | None, limit: int
) -> tuple[list[AuditEvent], int]:
    """Newest first; `before` is the id of the last event of the previous page."""
    where = []
    if action:
        where.append(AuditEvent.action == action)
    if actor:
        where.append(AuditEvent.actor == actor)
    query = select(AuditEvent).where(*where)
    if before:
        query = query.where(AuditEvent.id < before)
    async with rt.sessions() as session:
        rows = list(await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
        total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*where))
    return rows, int(total or 0)
