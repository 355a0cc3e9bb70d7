"""The Providers page (each account's health and circuit breaker) and its Hold / Resume
buttons: the same functions as GET /providers/health and POST /providers/{account}/…"""

from __future__ import annotations

from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from disparo.apikeys import Scope
from disparo.audit import Actor, audited
from disparo.campaigns import provider_controls
from disparo.dashboard import auth
from disparo.dashboard.notices import refused
from disparo.dashboard.pages import OperatorDep, ReaderDep, render, runtime_of
from disparo.dashboard.views import counted
from disparo.errors import DisparoError
from disparo.runtime import Runtime
from disparo.security import client_address

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/dashboard", include_in_schema=False)
CONTROLS = ("hold", "resume")


@router.get("/providers")
async def providers_page(request: Request, session: ReaderDep) -> HTMLResponse:
    rt = runtime_of(request)
    response = render(
        request,
        "providers.html",
        session,
        accounts=await provider_controls.provider_health(rt),
        minutes=rt.watch.health.minutes,
        can_operate=session.allows(Scope.OPERATE),
        flash=auth.take_flash(request),
        quote=quote,
    )
    auth.clear_flash(response)
    return response


@router.post("/providers/{account}/{name}")
async def provider_control(
    request: Request, account: str, name: str, session: OperatorDep
) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    rt = runtime_of(request)
    actor = Actor(session.key_name, "dashboard", client_address(request))
    if name not in CONTROLS:
        outcome = f"Unknown action {name[:20]!r}: nothing was done."
    else:
        try:
            async with audited(rt, actor, f"provider-{name}", account) as audit:
                outcome = await _run(rt, name, account, session.key_name)
                audit.done(0, 0, outcome)
        except DisparoError as exc:
            outcome = refused(name.capitalize(), exc)
    log.info("dashboard.provider_action", action=name, account=account, outcome=outcome)
    response = RedirectResponse("/dashboard/providers", status_code=303)
    auth.set_flash(request, response, outcome)
    return response


async def _run(rt: Runtime, name: str, account: str, actor: str) -> str:
    if name == "hold":
        view = await provider_controls.hold_account(rt, account, actor)
        return f"{view.summary}. Its batches wait until you resume it."
    view, woken = await provider_controls.resume_account(rt, account)
    return f"{view.summary}: {counted(woken, 'waiting batch')} sent again."
