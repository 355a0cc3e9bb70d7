"""GET /audit, and `record_action`: the audit of an API call, with the caller's key name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from disparo.apikeys import Scope
from disparo.apischema import AUTH_ERRORS, errors
from disparo.audit.service import Actor, Audited, audited, list_events
from disparo.runtime import Runtime
from disparo.security import RequireScope, actor_of, client_address

router = APIRouter(tags=["audit"], responses=errors(*AUTH_ERRORS))
ACTION = r"^[a-z-]{1,32}$"
NAME = r"^[A-Za-z0-9_.:@-]{1,64}$"


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    via: str
    action: str
    target: str
    outcome: str
    batches: int | None
    recipients: int | None
    detail: str | None
    client: str | None


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    next_before: int | None


def api_actor(request: Request) -> Actor:
    return Actor(actor_of(request), "api", client_address(request))


@asynccontextmanager
async def record_action(request: Request, action: str, target: str) -> AsyncIterator[Audited]:
    rt: Runtime = request.app.state.runtime
    async with audited(rt, api_actor(request), action, target) as pending:
        yield pending


@router.get("/audit", response_model=AuditPage, dependencies=[Depends(RequireScope(Scope.READ))])
async def audit_log(
    request: Request,
    action: Annotated[str | None, Query(pattern=ACTION)] = None,
    actor: Annotated[str | None, Query(pattern=NAME)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Operator actions and dashboard sign-ins, newest first. Page with `before` =
    `next_before` of the previous page."""
    rt: Runtime = request.app.state.runtime
    rows, total = await list_events(rt, action=action, actor=actor, before=before, limit=limit)
    items = [AuditEventOut.model_validate(row) for row in rows]
    return AuditPage(
        items=items, total=total, next_before=rows[-1].id if len(rows) == limit else None
    )
