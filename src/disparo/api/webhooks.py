"""HTTP routes for webhooks WordPress never took: list them, replay them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from disparo.api.deps import MAX_BIGINT, SAFE_TEXT, RuntimeDep
from disparo.apikeys import Scope
from disparo.apischema import AUTH_ERRORS, errors
from disparo.audit.endpoints import record_action
from disparo.queues.jobs import enqueue_all
from disparo.security import RequireScope
from disparo.wordpress import undeliverable

router = APIRouter(tags=["webhooks"], responses=errors(*AUTH_ERRORS))


class UndeliverablePage(BaseModel):
    items: list[undeliverable.UndeliverableWebhook]
    total: int
    limit: int
    offset: int


class ReplayAccepted(BaseModel):
    id: int
    status: str
    message: str


@router.get(
    "/webhooks/undeliverable",
    response_model=UndeliverablePage,
    dependencies=[Depends(RequireScope(Scope.READ))],
)
async def list_undeliverable(
    rt: RuntimeDep,
    agendamento_id: Annotated[str | None, Query(max_length=100, pattern=SAFE_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> UndeliverablePage:
    """Webhooks given up on (WordPress refused them, or stayed unreachable for the whole
    retry window), oldest first. `superseded`: a later status of the campaign arrived."""
    async with rt.sessions() as session:
        items, total = await undeliverable.list_undeliverable(
            session, agendamento_id=agendamento_id, limit=limit, offset=offset
        )
    return UndeliverablePage(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/webhooks/{outbox_id}/replay",
    status_code=202,
    response_model=ReplayAccepted,
    dependencies=[Depends(RequireScope(Scope.OPERATE))],
    responses=errors(404, 409),
)
async def replay_webhook(
    outbox_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)],
    rt: RuntimeDep,
    request: Request,
    force: bool = False,
) -> ReplayAccepted:
    """Deliver an undeliverable webhook again, with a fresh retry window. 409 when it is not
    undeliverable, or when a later status already arrived (unless `force=true`)."""
    async with record_action(request, "replay", f"webhook {outbox_id}") as audit:
        async with rt.sessions() as session, session.begin():
            job = await undeliverable.replay(session, rt.settings, outbox_id, force=force)
        await enqueue_all(rt.queues, [job])
        audit.detail = "forced" if force else ""
    return ReplayAccepted(id=outbox_id, status="PENDING", message="Webhook reenfileirado")
