"""HTTP routes of the operator controls and dead letters: thin wrappers over
campaigns/controls.py and campaigns/deadletters.py (the CLI and the dashboard call the same)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from disparo.api.deps import MAX_BIGINT, SAFE_TEXT, RuntimeDep
from disparo.apikeys import Scope
from disparo.apischema import AUTH_ERRORS, body_schema, errors, parse_body
from disparo.audit import describe_filter
from disparo.audit.endpoints import record_action
from disparo.campaigns import controls, deadletters
from disparo.campaigns.models import CampaignStatus
from disparo.errors import BadRequest
from disparo.security import RequireScope

router = APIRouter(tags=["controls"], responses=errors(*AUTH_ERRORS))
READ = [Depends(RequireScope(Scope.READ))]
OPERATE = [Depends(RequireScope(Scope.OPERATE))]
Filter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=SAFE_TEXT)]


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
    step: str = Field(description="send, or the second step: start (GOSAC), mkc (Marketing Cloud)")
    sequence: int
    recipients: int
    attempts: int
    last_error: str | None
    dead_lettered_at: datetime
    history: list[AttemptOut]


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_after: int | None


FilterText = Annotated[str, Field(min_length=1, max_length=200, pattern=SAFE_TEXT)]


class RedriveIn(BaseModel):
    campaign: FilterText | None = None
    provider: FilterText | None = None
    error: FilterText | None = Field(default=None, description="substring of the last error")
    all: bool = Field(default=False, description="required to redrive with no filter")
    dry_run: bool = Field(default=False, description="only count what would be redriven")


class RedriveOut(BaseModel):
    matched: int
    redriven: int
    recipients: int
    batch_ids: list[int]


def _control(result: controls.ControlResult) -> ControlOut:
    return ControlOut(**dataclasses.asdict(result))


RETRY_BODY = body_schema(RetryIn.model_json_schema(), required=False)


Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[ControlOut]])


def control_route(
    path: str, openapi_extra: dict[str, Any] | None = None
) -> Callable[[Endpoint], Endpoint]:
    """A control's route: scope operate, answers ControlOut, 404/409 documented."""
    return router.post(
        path,
        response_model=ControlOut,
        dependencies=OPERATE,
        responses=errors(404, 409),
        openapi_extra=openapi_extra,
    )


async def _audited(
    request: Request, action: str, key: str, work: Awaitable[controls.ControlResult]
) -> ControlOut:
    """Run a control and record who did it (also when it is refused: a 404/409 is audited
    with its outcome)."""
    async with record_action(request, action, key) as audit:
        result = await work
        audit.done(
            result.batches, result.recipients, result.message, target=str(result.campaign_id)
        )
    return _control(result)


@control_route("/campaigns/{key}/pause")
async def pause(key: str, rt: RuntimeDep, request: Request) -> ControlOut:
    return await _audited(request, "pause", key, controls.pause_campaign(rt, key))


@control_route("/campaigns/{key}/resume")
async def resume(key: str, rt: RuntimeDep, request: Request) -> ControlOut:
    return await _audited(request, "resume", key, controls.resume_campaign(rt, key))


@control_route("/campaigns/{key}/cancel")
async def cancel(key: str, rt: RuntimeDep, request: Request) -> ControlOut:
    return await _audited(request, "cancel", key, controls.cancel_campaign(rt, key))


@control_route("/campaigns/{key}/retry-failed", RETRY_BODY)
async def retry_failed(key: str, rt: RuntimeDep, request: Request) -> ControlOut:
    body = await parse_body(request, RetryIn, required=False)
    sequences = body.sequences if body else []
    return await _audited(request, "retry-failed", key, controls.retry_failed(rt, key, sequences))


@control_route("/campaigns/{key}/retry-unknown", RETRY_BODY)
async def retry_unknown(key: str, rt: RuntimeDep, request: Request) -> ControlOut:
    body = await parse_body(request, RetryIn, required=False)
    sequences = body.sequences if body else []
    work = controls.retry_unknown(rt, key, sequences)
    return await _audited(request, "retry-unknown", key, work)


@router.get(
    "/dead-letters", response_model=DeadLetterPage, dependencies=READ, responses=errors(404)
)
async def list_dead_letters(
    rt: RuntimeDep,
    campaign: Filter = None,
    provider: Filter = None,
    error: Filter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> DeadLetterPage:
    where = deadletters.DeadLetterFilter(campaign, provider, error)
    rows = await deadletters.list_dead_letters(rt, where, limit=limit, after=after)
    items = [DeadLetterOut.model_validate(dataclasses.asdict(row)) for row in rows]
    return DeadLetterPage(items=items, next_after=rows[-1].id if len(rows) == limit else None)


REDRIVE_FILTERS = ("campaign", "provider", "error")
REDRIVE_FLAGS = ("all", "dry_run")


def redrive_schema() -> dict[str, Any]:
    """RedriveIn, plus what the route insists on: at least one filter, all or dry_run."""
    schema = RedriveIn.model_json_schema()
    text = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": SAFE_TEXT}
    schema["anyOf"] = [
        *({"required": [name], "properties": {name: text}} for name in REDRIVE_FILTERS),
        *({"required": [flag], "properties": {flag: {"const": True}}} for flag in REDRIVE_FLAGS),
    ]
    return schema


@router.post(
    "/dead-letters/redrive",
    response_model=RedriveOut,
    dependencies=OPERATE,
    responses=errors(404),
    openapi_extra=body_schema(redrive_schema(), required=True),
)
async def redrive_matching(request: Request, rt: RuntimeDep) -> RedriveOut:
    """Preview with `dry_run: true` (answers `matched`), then the same filter to redrive."""
    body = await parse_body(request, RedriveIn)
    assert body is not None
    where = deadletters.DeadLetterFilter(body.campaign, body.provider, body.error)
    if not (body.campaign or body.provider or body.error or body.all or body.dry_run):
        raise BadRequest("Informe campaign, provider ou error, ou all=true para reenviar todas")
    matched = await deadletters.count_dead_letters(rt, where)
    if body.dry_run:
        return RedriveOut(matched=matched, redriven=0, recipients=0, batch_ids=[])
    async with record_action(request, "redrive", describe_filter(where)) as audit:
        result = await deadletters.redrive_dead_letters(rt, where)
        audit.done(result.batches, result.recipients, f"{matched} matched")
    return RedriveOut(
        matched=matched,
        redriven=result.batches,
        recipients=result.recipients,
        batch_ids=result.batch_ids,
    )


@router.post(
    "/dead-letters/{batch_id}/redrive",
    response_model=RedriveOut,
    dependencies=OPERATE,
    responses=errors(404),
)
async def redrive_one(
    batch_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)], rt: RuntimeDep, request: Request
) -> RedriveOut:
    async with record_action(request, "redrive", f"batch {batch_id}") as audit:
        result = await deadletters.redrive_dead_letter(rt, batch_id)
        audit.done(result.batches, result.recipients, "")
    return RedriveOut(
        matched=1, redriven=result.batches, recipients=result.recipients, batch_ids=result.batch_ids
    )
