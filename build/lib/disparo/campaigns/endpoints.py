"""HTTP routes of the campaign API."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from disparo.campaigns import repository
from disparo.campaigns.models import Campaign, CampaignStatus, MessageStatus
from disparo.campaigns.schemas import (
    CampaignPage,
    CampaignStatusOut,
    DispatchAccepted,
    DispatchRequest,
    MessageError,
    MessagePage,
)
from disparo.campaigns.service import dispatch
from disparo.errors import NotFound, validation_failed
from disparo.runtime import Runtime
from disparo.security import check_api_key

MAX_BIGINT = 2**63 - 1  # larger numbers overflow the database's integers

router = APIRouter(dependencies=[Depends(check_api_key)], tags=["campaigns"])


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def status_of(campaign: Campaign, errors: list[MessageError] | None = None) -> CampaignStatusOut:
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
    )


@router.post(
    "/campaigns/dispatch",
    status_code=202,
    response_model=DispatchAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DispatchRequest.model_json_schema()}},
        }
    },
)
async def dispatch_campaign(request: Request, rt: RuntimeDep) -> JSONResponse:
    # The body is read here, after the API key check: a caller without a key learns
    # nothing, not even whether its JSON parses.
    try:
        body = DispatchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise validation_failed(exc.errors()) from None
    outcome = await dispatch(rt, body.agendamento_id)
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
    # The contract omits started_at, completed_at and errors when empty.
    response_model_exclude_none=True,
)
async def campaign_status(key: str, rt: RuntimeDep) -> CampaignStatusOut:
    async with rt.sessions() as session:
        campaign = await repository.find_campaign(session, key)
        if campaign is None:
            raise NotFound("Campanha não encontrada")
        failed = await repository.failed_messages(session, campaign.id)
    errors = [
        MessageError(phone=m.phone, error=m.last_error or "Erro desconhecido", attempts=m.attempts)
        for m in failed
    ]
    return status_of(campaign, errors)


@router.get("/campaigns", response_model=CampaignPage)
async def list_campaigns(
    rt: RuntimeDep,
    status: CampaignStatus | None = None,
    provider: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> CampaignPage:
    async with rt.sessions() as session:
        rows, total = await repository.list_campaigns(
            session, status=status, provider=provider, limit=limit, offset=offset
        )
    return CampaignPage(
        items=[status_of(campaign) for campaign in rows], total=total, limit=limit, offset=offset
    )


@router.get("/campaigns/{key}/messages", response_model=MessagePage)
async def list_messages(
    key: str,
    rt: RuntimeDep,
    status: MessageStatus | None = None,
    after: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MessagePage:
    async with rt.sessions() as session:
        campaign = await repository.find_campaign(session, key)
        if campaign is None:
            raise NotFound("Campanha não encontrada")
        rows = await repository.list_messages(
            session, campaign.id, status=status, after=after, limit=limit
        )
    next_after = rows[-1].id if len(rows) == limit else None
    return MessagePage(items=rows, next_after=next_after)
