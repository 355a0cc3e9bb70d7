"""POST /campaigns/preflight: what a dispatch would do, sending and recording nothing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from disparo.api.deps import RuntimeDep
from disparo.apikeys import Scope
from disparo.apischema import AUTH_ERRORS, body_schema, errors, parse_body, self_contained
from disparo.campaigns.preflight import run_preflight
from disparo.campaigns.preflight_report import PreflightReport
from disparo.campaigns.schemas import DispatchRequest
from disparo.security import RequireScope

router = APIRouter(tags=["campaigns"], responses=errors(*AUTH_ERRORS))


@router.post(
    "/campaigns/preflight",
    response_model=PreflightReport,
    dependencies=[Depends(RequireScope(Scope.READ))],
    responses=errors(400),
    openapi_extra=body_schema(self_contained(DispatchRequest.model_json_schema()), required=True),
)
async def preflight_campaign(request: Request, rt: RuntimeDep) -> PreflightReport:
    # The dispatch's body (extra fields allowed), read after the key check as there.
    body = await parse_body(request, DispatchRequest)
    assert body is not None
    window = body.janela_envio.spec() if body.janela_envio is not None else None
    return await run_preflight(rt, body.agendamento_id, send_window=window)
