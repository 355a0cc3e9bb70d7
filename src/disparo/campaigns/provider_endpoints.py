"""HTTP routes of provider health and the account controls: thin wrappers over
campaigns/provider_controls.py (the CLI and the dashboard call the same)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from disparo.api.deps import RuntimeDep
from disparo.apikeys import Scope
from disparo.apischema import AUTH_ERRORS, errors
from disparo.audit.endpoints import record_action
from disparo.campaigns import provider_controls
from disparo.security import RequireScope, actor_of

router = APIRouter(tags=["providers"], responses=errors(*AUTH_ERRORS))
READ = [Depends(RequireScope(Scope.READ))]
OPERATE = [Depends(RequireScope(Scope.OPERATE))]
AccountPath = Annotated[
    str,
    Path(
        max_length=161,
        pattern=provider_controls.ACCOUNT.pattern,
        description="the account as GET /providers/health lists it (CODE:id)",
    ),
]


class AccountOut(BaseModel):
    account: str
    provider: str
    state: str = Field(description="closed (sending), open (paused by its breaker), held")
    summary: str = Field(description='e.g. "CDA account X paused since 14:02 UTC: …"')
    since: datetime | None
    next_probe_at: datetime | None
    failed_probes: int
    held_by: str
    minutes: float = Field(description="the figures below cover this many minutes")
    requests: int
    requests_per_minute: float
    error_rate: float
    errors: dict[str, int] = Field(description="4xx, 5xx, timeout, connection, rate_limited…")
    latency_ms: dict[str, float] = Field(description="p50, p95, p99, avg")
    rate_limit_waits: int
    rate_limit_wait_s: float


class HealthOut(BaseModel):
    accounts: list[AccountOut]


class ResumedOut(AccountOut):
    woken_batches: int = Field(description="waiting batches sent again now")


def _out(view: provider_controls.AccountView) -> AccountOut:
    return AccountOut(**dataclasses.asdict(view))


@router.get("/providers/health", response_model=HealthOut, dependencies=READ)
async def providers_health(rt: RuntimeDep) -> HealthOut:
    """Per provider account: requests, errors by kind, latency, rate-limit waits over the
    last DISPARO_PROVIDER_HEALTH_MINUTES, and its circuit breaker's state."""
    return HealthOut(accounts=[_out(view) for view in await provider_controls.provider_health(rt)])


@router.post(
    "/providers/{account}/hold",
    response_model=AccountOut,
    dependencies=OPERATE,
    responses=errors(400, 404),
)
async def hold(account: AccountPath, rt: RuntimeDep, request: Request) -> AccountOut:
    """Stop every send of the account until it is resumed (its batches wait, unspent)."""
    async with record_action(request, "provider-hold", account) as audit:
        view = await provider_controls.hold_account(rt, account, actor_of(request))
        audit.done(0, 0, view.summary)
    return _out(view)


@router.post(
    "/providers/{account}/resume",
    response_model=ResumedOut,
    dependencies=OPERATE,
    responses=errors(400, 404),
)
async def resume(account: AccountPath, rt: RuntimeDep, request: Request) -> ResumedOut:
    """End a hold or an open breaker now; the account's waiting batches are sent again."""
    async with record_action(request, "provider-resume", account) as audit:
        view, woken = await provider_controls.resume_account(rt, account)
        audit.done(woken, 0, view.summary)
    return ResumedOut(**dataclasses.asdict(view), woken_batches=woken)
