"""HTTP routes of the campaign API."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from disparo.api.deps import MAX_BIGINT, SAFE_TEXT, RuntimeDep
from disparo.apikeys import Scope
from disparo.apischema import (
    AUTH_ERRORS,
    add_links,
    body_schema,
    errors,
    parse_body,
    self_contained,
)
from disparo.campaigns import provider_controls, repository
from disparo.campaigns.batch_queries import has_pending_steps
from disparo.campaigns.models import TERMINAL_CAMPAIGN, Campaign, CampaignStatus, MessageStatus
from disparo.campaigns.schemas import (
    CampaignPage,
    CampaignStatusOut,
    DispatchAccepted,
    DispatchRequest,
    MessageError,
    MessagePage,
    WindowWait,
)
from disparo.campaigns.service import dispatch
from disparo.campaigns.windows import campaign_hold
from disparo.db.base import utcnow
from disparo.errors import NotFound
from disparo.providers.registry import BY_PREFIX
from disparo.runtime import Runtime
from disparo.security import RequireScope

router = APIRouter(tags=["campaigns"], responses=errors(*AUTH_ERRORS))
READ = [Depends(RequireScope(Scope.READ))]
DISPATCH = [Depends(RequireScope(Scope.DISPATCH))]


def window_wait(
    rt: Runtime, campaign: Campaign, *, steps_pending: bool = False
) -> WindowWait | None:
    hold = campaign_hold(rt.settings, rt.providers, campaign, utcnow(), steps_pending=steps_pending)
    if hold is None:
        return None
    return WindowWait(opens_at=hold.opens_at, opens_at_local=hold.label, timezone=hold.zone)


def status_of(
    campaign: Campaign,
    errors: list[MessageError] | None = None,
    delivery: dict[str, int] | None = None,
    waiting: WindowWait | None = None,
    waiting_for: str | None = None,
) -> CampaignStatusOut:
    total = campaign.total_messages
    # Math.round of the original (half up), not Python's half-to-even.
    progress = math.floor(campaign.sent_messages / total * 100 + 0.5) if total else 0
    return CampaignStatusOut(
        campaign_id=campaign.id,
        agendamento_id=campaign.agendamento_id,
        status=campaign.status,
        provider=campaign.provider,
        total_messages=total,
        sent_messages=campaign.sent_messages,
        failed_messages=campaign.failed_messages,
        skipped_messages=campaign.skipped_messages,
        unknown_messages=campaign.unknown_messages,
        progress_percentage=progress,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        error_message=campaign.error_message,
        errors=errors or None,
        paused_at=campaign.paused_at,
        delivery=delivery or None,
        waiting_for_window=waiting,
        waiting_for=waiting_for,
    )


def document_dispatch(schema: dict[str, Any], served: Iterable[str]) -> None:
    """Say in the OpenAPI document what the dispatch and the preflight take: an agendamento_id
    (surrounding whitespace is stripped) starting with the prefix of a provider this disparo
    serves; and which answers feed which calls (links)."""
    served = set(served)
    prefixes = "".join(sorted(p + p.lower() for p, code in BY_PREFIX.items() if code in served))
    # The preflight takes the dispatch's body and refuses the same prefixes.
    for path in ("/campaigns/dispatch", "/campaigns/preflight"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]
        field = body["application/json"]["schema"]["properties"]["agendamento_id"]
        field["pattern"] = rf"^\s*[{prefixes}][^\x00-\x1f\x7f]*$"
    # Links from a dispatch to what can be done with the campaign it made. (Links from the
    # dead-letter and webhook lists led a stateful test nowhere: those lists start empty.)
    key = {"key": "$response.body#/campaign_id"}
    follow_ups = [
        ("get", "/campaigns/{key}/status", key),
        ("get", "/campaigns/{key}/messages", key),
    ]
    for action in ("pause", "resume", "cancel", "retry-failed", "retry-unknown"):
        follow_ups.append(("post", f"/campaigns/{{key}}/{action}", key))
    add_links(schema, ("post", "/campaigns/dispatch", "202"), follow_ups)


@router.post(
    "/campaigns/dispatch",
    status_code=202,
    response_model=DispatchAccepted,
    dependencies=DISPATCH,
    openapi_extra=body_schema(self_contained(DispatchRequest.model_json_schema()), required=True),
)
async def dispatch_campaign(request: Request, rt: RuntimeDep) -> JSONResponse:
    # The body is read here, after the API key check (RequireScope): a caller without a key
    # learns nothing, not even whether its JSON parses.
    body = await parse_body(request, DispatchRequest)
    assert body is not None
    window = body.janela_envio.spec() if body.janela_envio is not None else None
    outcome = await dispatch(rt, body.agendamento_id, window)
    campaign = outcome.campaign
    accepted = DispatchAccepted(
        message="Campanha adicionada à fila" if outcome.created else "Campanha já existe na fila",
        agendamento_id=campaign.agendamento_id,
        campaign_id=campaign.id,
        provider=campaign.provider,
        status=campaign.status,
        estimated_time="2-5 minutos" if outcome.created else None,
    )
    return JSONResponse(accepted.model_dump(mode="json", exclude_none=True), status_code=202)


@router.get(
    "/campaigns/{key}/status",
    response_model=CampaignStatusOut,
    dependencies=READ,
    responses=errors(404),
    # The contract omits started_at, completed_at and errors when empty.
    response_model_exclude_none=True,
)
async def campaign_status(key: str, rt: RuntimeDep) -> CampaignStatusOut:
    async with rt.sessions() as session:
        campaign = await repository.find_campaign(session, key)
        if campaign is None:
            raise NotFound("Campanha não encontrada")
        failed = await repository.failed_messages(session, campaign.id)
        delivery = await repository.delivery_counts(session, campaign.id)
        steps_pending = campaign.status == CampaignStatus.COMPLETED and await has_pending_steps(
            session, campaign.id
        )
        waiting_for = None
        if campaign.status not in TERMINAL_CAMPAIGN:
            waiting_for = await provider_controls.waiting_for(session, campaign.id)
    errors = [
        MessageError(phone=m.phone, error=m.last_error or "Erro desconhecido", attempts=m.attempts)
        for m in failed
    ]
    waiting = window_wait(rt, campaign, steps_pending=steps_pending)
    return status_of(campaign, errors, delivery, waiting, waiting_for)


@router.get("/campaigns", response_model=CampaignPage, dependencies=READ)
async def list_campaigns(
    rt: RuntimeDep,
    status: CampaignStatus | None = None,
    provider: Annotated[str | None, Query(max_length=100, pattern=SAFE_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> CampaignPage:
    async with rt.sessions() as session:
        rows, total = await repository.list_campaigns(
            session, status=status, provider=provider, limit=limit, offset=offset
        )
    return CampaignPage(
        items=[status_of(campaign, waiting=window_wait(rt, campaign)) for campaign in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/campaigns/{key}/messages",
    response_model=MessagePage,
    dependencies=READ,
    responses=errors(404),
)
async def list_messages(
    key: str,
    rt: RuntimeDep,
    status: MessageStatus | None = None,
    after: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    delivery_since: Annotated[
        datetime | None,
        Query(
            description="Only the rows whose delivery receipt disparo recorded after "
            "(delivery_since, after), in that order; page on with next_delivery_since and "
            "next_after. Start a pass a few minutes before the as_of of the previous one."
        ),
    ] = None,
) -> MessagePage:
    if delivery_since is not None and delivery_since.tzinfo is None:
        delivery_since = delivery_since.replace(tzinfo=UTC)
    as_of = utcnow()
    async with rt.sessions() as session:
        campaign = await repository.find_campaign(session, key)
        if campaign is None:
            raise NotFound("Campanha não encontrada")
        rows = await repository.list_messages(
            session,
            campaign.id,
            status=status,
            after=after,
            limit=limit,
            delivery_since=delivery_since,
        )
    if len(rows) < limit:
        return MessagePage(items=rows, next_after=None, as_of=as_of)
    next_since = rows[-1].delivery_recorded_at if delivery_since is not None else None
    return MessagePage(
        items=rows, next_after=rows[-1].id, next_delivery_since=next_since, as_of=as_of
    )
