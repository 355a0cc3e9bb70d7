"""Provider accounts as the operator sees them (health and breaker state) and their two
controls, hold and resume: what the API, the CLI and the dashboard call (each records the
audit event itself, like the campaign controls)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.batch_queries import runnable_campaign
from disparo.campaigns.batches import WAITING_OUTCOME
from disparo.campaigns.models import (
    BatchAttempt,
    BatchStatus,
    Campaign,
    ProviderBatch,
    ProviderHold,
)
from disparo.campaigns.outcomes import batch_job
from disparo.db.base import utcnow
from disparo.errors import BadRequest, NotFound
from disparo.providers.breaker import BreakerState
from disparo.providers.health import AccountHealth
from disparo.queues.jobs import PendingJob, enqueue_all
from disparo.runtime import Runtime

# "CODE:identity" as policy.account_id writes it.
ACCOUNT = re.compile(r"^[A-Z0-9_]{1,32}:[A-Za-z0-9_.@-]{1,128}$")
WAKE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class AccountView:
    account: str
    provider: str
    state: str  # closed (sending), open (paused by the breaker), held (by an operator)
    summary: str
    since: datetime | None
    next_probe_at: datetime | None
    failed_probes: int
    held_by: str
    minutes: float
    requests: int
    requests_per_minute: float
    error_rate: float
    errors: dict[str, int]  # by kind: 4xx, 5xx, timeout, connection, rate_limited, other
    latency_ms: dict[str, float]  # p50, p95, p99, avg
    rate_limit_waits: int
    rate_limit_wait_s: float


def view_of(health: AccountHealth, breaker: BreakerState) -> AccountView:
    errors = {kind: count for kind, count in health.kinds.items() if kind != "ok"}
    return AccountView(
        account=health.account,
        provider=health.account.partition(":")[0],
        state=breaker.state,
        summary=breaker.summary,
        since=breaker.since,
        next_probe_at=breaker.until if breaker.state == "open" else None,
        failed_probes=breaker.probes,
        held_by=breaker.held_by,
        minutes=health.minutes,
        requests=health.requests,
        requests_per_minute=round(health.per_minute, 2),
        error_rate=round(health.error_rate, 4),
        errors=errors,
        latency_ms=health.latency_ms,
        rate_limit_waits=health.rate_limit_waits,
        rate_limit_wait_s=health.rate_limit_wait_s,
    )


async def _known_accounts(rt: Runtime) -> set[str]:
    watch = rt.watch
    names = set(await watch.health.accounts()) | set(await watch.breaker.stopped_accounts())
    return names | set(await held_in_database(rt))


async def held_in_database(rt: Runtime) -> dict[str, str]:
    """The accounts held, by whom, as the database (the source of truth) says."""
    async with rt.sessions() as session:
        rows = await session.execute(select(ProviderHold.account, ProviderHold.held_by))
        return {account: held_by for account, held_by in rows}


async def provider_health(rt: Runtime) -> list[AccountView]:
    """Every account with requests in the last minutes, or paused or held."""
    watch = rt.watch
    names = await _known_accounts(rt)
    views = []
    for name in sorted(names):
        views.append(view_of(await watch.health.read(name), await watch.breaker.read(name)))
    return views


async def account_view(rt: Runtime, account: str) -> AccountView:
    """One account, 404 when it has neither recent requests nor a breaker state."""
    if not ACCOUNT.match(account):
        raise BadRequest(f"conta de fornecedor inválida: {account[:80]!r} (formato CODIGO:id)")
    if account not in await _known_accounts(rt):
        raise NotFound(
            f"conta de fornecedor {account} desconhecida: nenhum envio nos últimos "
            f"{rt.watch.health.minutes:g} min (GET /providers/health lista as contas)"
        )
    return await _view(rt, account)


async def _view(rt: Runtime, account: str) -> AccountView:
    health, breaker = await rt.watch.health.read(account), await rt.watch.breaker.read(account)
    return view_of(health, breaker)


async def hold_account(rt: Runtime, account: str, actor: str) -> AccountView:
    """Stop the account's sends until `resume_account`, whatever its health."""
    await account_view(rt, account)
    async with rt.sessions() as session, session.begin():
        await session.merge(ProviderHold(account=account, held_by=actor[:64], held_at=utcnow()))
    await rt.watch.breaker.hold(account, actor)
    return await _view(rt, account)


async def resume_account(rt: Runtime, account: str) -> tuple[AccountView, int]:
    """Close the account's breaker (held or open) and send its waiting batches now; returns
    the view and how many batches were woken."""
    await account_view(rt, account)
    async with rt.sessions() as session, session.begin():
        await session.execute(delete(ProviderHold).where(ProviderHold.account == account))
    await rt.watch.breaker.resume(account)
    woken = await wake_waiting(rt)
    # Read without the "known" check: an idle account resumed is known no more.
    return await _view(rt, account), woken


async def restore_holds(rt: Runtime) -> int:
    """Holds the database has and Redis lost (flushed, a replica promoted before its sync):
    put back, so a held account stays held. The reconciler calls this each interval."""
    restored = 0
    for account, held_by in (await held_in_database(rt)).items():
        if (await rt.watch.breaker.read(account)).state != "held":
            await rt.watch.breaker.hold(account, held_by)
            restored += 1
            # An operator's resume between the read above and this hold deleted the row
            # first: undo the hold, or the account would stay held with no row to show it.
            if account not in await held_in_database(rt):
                await rt.watch.breaker.resume(account)
                restored -= 1
    return restored


async def waiting_for(session: AsyncSession, campaign_id: uuid.UUID) -> str | None:
    """What the campaign waits for, when the newest word on its open batches is that their
    account's breaker holds them back ("aguardando o fornecedor: CDA account … paused …")."""
    newest = await session.execute(
        select(BatchAttempt.outcome, BatchAttempt.error)
        .join(ProviderBatch, ProviderBatch.id == BatchAttempt.batch_id)
        .where(
            ProviderBatch.campaign_id == campaign_id,
            ProviderBatch.status == BatchStatus.PENDING,
        )
        .order_by(BatchAttempt.id.desc())
        .limit(1)
    )
    row = newest.first()
    return row.error if row is not None and row.outcome == WAITING_OUTCOME else None


async def wake_waiting(rt: Runtime) -> int:
    """Batches and second steps a breaker held back are due at once: they ask again (those
    of an account still stopped wait again, costing nothing). Which account a batch goes to
    is known only from its credentials, so every waiting batch asks."""
    now = utcnow()
    jobs: list[PendingJob] = []
    waited = select(BatchAttempt.batch_id).where(BatchAttempt.outcome == WAITING_OUTCOME)
    async with rt.sessions() as session, session.begin():
        rows = await session.execute(
            select(Campaign, ProviderBatch)
            .join(ProviderBatch, ProviderBatch.campaign_id == Campaign.id)
            .where(
                ProviderBatch.status == BatchStatus.PENDING,
                ProviderBatch.due_at > now,
                ProviderBatch.id.in_(waited),
                runnable_campaign(),
            )
            .limit(WAKE_LIMIT)
        )
        for campaign, batch in rows:
            batch.due_at = now
            jobs.append(batch_job(campaign, batch))
    await enqueue_all(rt.queues, jobs)
    return len(jobs)
