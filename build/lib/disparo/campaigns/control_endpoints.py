"""HTTP routes of the operator controls and dead letters: thin wrappers over
campaigns/controls.py and campaigns/deadletters.py (the CLI and the dashboard call the same)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, Field

from disparo.campaigns import controls, deadletters
from disparo.campaigns.endpoints import MAX_BIGINT, RuntimeDep
from disparo.campaigns.models import CampaignStatus
from disparo.errors import BadRequest
from disparo.security import check_api_key

router = APIRouter(dependencies=[Depends(check_api_key)], tags=["controls"])


class ControlOut(BaseModel):
    action: str
    campaign_id: uuid.UUID
    agendamento_id: str
    changed: bool = Field(description="false when the campaign already was in that state")
    status: CampaignStatus
    paused: bool
    batches: int
    recipients: int
    message: str


class RetryIn(BaseModel):
    sequences: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] = Field(
        default_factory=list, description="batch sequences to resend; empty = all of them"
    )


class AttemptOut(BaseModel):
    attempt: int
    outcome: str
    status_code: int | None
    error: str | None
    at: datetime


class DeadLetterOut(BaseModel):
    id: int
    campaign_id: uuid.UUID
    agendamento_id: str
    provider: str
    sequence: int
    recipients: int
    attempts: int
    last_error: str | None
    dead_lettered_at: datetime
    history: list[AttemptOut]


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_after: int | None


class RedriveIn(BaseModel):
    campaign: str | None = None
    provider: str | None = None
    error: str | None = Field(default=None, description="substring of the last error")
    all: bool = Field(default=False, description="required to redrive with no filter")
    dry_run: bool = Field(default=False, description="only count what would be redriven")


class RedriveOut(BaseModel):
    matched: int
    redriven: int
    recipients: int
    batch_ids: list[int]


def _control(result: controls.ControlResult) -> ControlOut:
    return ControlOut(**dataclasses.asdict(result))


@router.post("/campaigns/{key}/pause", response_model=ControlOut)
async def pause(key: str, rt: RuntimeDep) -> ControlOut:
    return _control(await controls.pause_campaign(rt, key))


@router.post("/campaigns/{key}/resume", response_model=ControlOut)
async def resume(key: str, rt: RuntimeDep) -> ControlOut:
    return _control(await controls.resume_campaign(rt, key))


@router.post("/campaigns/{key}/cancel", response_model=ControlOut)
async def cancel(key: str, rt: RuntimeDep) -> ControlOut:
    return _control(await controls.cancel_campaign(rt, key))


@router.post("/campaigns/{key}/retry-failed", response_model=ControlOut)
async def retry_failed(
    key: str, rt: RuntimeDep, body: Annotated[RetryIn | None, Body()] = None
) -> ControlOut:
    sequences = body.sequences if body else []
    return _control(await controls.retry_failed(rt, key, sequences))


@router.post("/campaigns/{key}/retry-unknown", response_model=ControlOut)
async def retry_unknown(
    key: str, rt: RuntimeDep, body: Annotated[RetryIn | None, Body()] = None
) -> ControlOut:
    sequences = body.sequences if body else []
    return _control(await controls.retry_unknown(rt, key, sequences))


@router.get("/dead-letters", response_model=DeadLetterPage)
async def list_dead_letters(
    rt: RuntimeDep,
    campaign: str | None = None,
    provider: str | None = None,
    error: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> DeadLetterPage:
    where = deadletters.DeadLetterFilter(campaign, provider, error)
    rows = await deadletters.list_dead_letters(rt, where, limit=limit, after=after)
    items = [DeadLetterOut.model_validate(dataclasses.asdict(row)) for row in rows]
    return DeadLetterPage(items=items, next_after=rows[-1].id if len(rows) == limit else None)


@router.post("/dead-letters/redrive", response_model=RedriveOut)
async def redrive_matching(body: RedriveIn, rt: RuntimeDep) -> RedriveOut:
    """Preview with `dry_run: true` (answers `matched`), then the same filter to redrive."""
    where = deadletters.DeadLetterFilter(body.campaign, body.provider, body.error)
    if not (body.campaign or body.provider or body.error or body.all or body.dry_run):
        raise BadRequest("Informe campaign, provider ou error, ou all=true para reenviar todas")
    matched = await deadletters.count_dead_letters(rt, where)
    if body.dry_run:
        return RedriveOut(matched=matched, redriven=0, recipients=0, batch_ids=[])
    result = await deadletters.redrive_dead_letters(rt, where)
    return RedriveOut(
        matched=matched,
        redriven=result.batches,
        recipients=result.recipients,
        batch_ids=result.batch_ids,
    )


@router.post("/dead-letters/{batch_id}/redrive", response_model=RedriveOut)
async def redrive_one(
    batch_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)], rt: RuntimeDep
) -> RedriveOut:
    result = await deadletters.redrive_dead_letter(rt, batch_id)
    return RedriveOut(
        matched=1, redriven=result.batches, recipients=result.recipients, batch_ids=result.batch_ids
    )
