"""The preflight page: an agendamento id in, the report of a dispatch that does not happen
out (the same report as POST /campaigns/preflight and `disparo preflight`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from disparo.campaigns.preflight import run_preflight
from disparo.campaigns.schemas import DispatchRequest
from disparo.dashboard.pages import ReaderDep, render, runtime_of
from disparo.dashboard.views import when
from disparo.errors import BadRequest

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/preflight")
async def preflight_page(
    request: Request, session: ReaderDep, agendamento_id: str = ""
) -> HTMLResponse:
    """A GET form: checking changes nothing, so the page can be bookmarked and reloaded."""
    context: dict[str, object] = {"agendamento_id": agendamento_id, "report": None, "error": None}
    if agendamento_id.strip():
        try:
            key = DispatchRequest(agendamento_id=agendamento_id).agendamento_id
            context["report"] = await run_preflight(runtime_of(request), key)
        except ValidationError:
            context["error"] = "agendamento_id inválido (até 100 caracteres, sem controles)"
        except BadRequest as exc:
            context["error"] = exc.message
    status = 400 if context["error"] else 200
    return render(request, "preflight.html", session, status_code=status, when=when, **context)
