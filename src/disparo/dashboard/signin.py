"""Sign-in and sign-out pages. Failed sign-ins are throttled per client address and per key
tried, logged, and audited (as are sign-ins and sign-outs)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from disparo.audit import Actor, record_event
from disparo.dashboard import auth
from disparo.dashboard.pages import SessionDep, render, runtime_of
from disparo.security import client_address

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/dashboard", include_in_schema=False)
REFUSED = "That API key is not accepted."


def _safe_next(target: str | None) -> str:
    # Only our own pages: never an open redirect to somewhere else.
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return "/dashboard"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next, error=None, status=200)


def _login_page(
    request: Request, target: str | None, error: str | None, status: int
) -> HTMLResponse:
    token, cookie = auth.new_login_token(request)
    response = render(
        request, "login.html", None, status, next=_safe_next(target), error=error, csrf=token
    )
    auth.set_login_cookie(request, response, cookie)
    return response


def _throttled(request: Request, wait: int) -> HTMLResponse:
    error = f"Too many failed sign-ins. Try again in {wait} s."
    response = _login_page(request, None, error, 429)
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    client = client_address(request)
    per_client, per_key = auth.signin_throttles(request)
    # Checked before the form is read: a throttled client's body is never looked at.
    wait = await per_client.retry_after(client)
    if wait:
        return _throttled(request, wait)
    form = await auth.read_form(request)
    try:
        auth.check_login_token(request, form.get("csrf_token", ""))
    except auth.CsrfRejected:
        error = "The sign-in form expired. Please try again."
        return _login_page(request, form.get("next"), error, 400)
    given = form.get("api_key", "").strip()
    bucket = auth.tried_key_bucket(request, given)
    wait = await per_key.retry_after(bucket)
    if wait:
        return _throttled(request, wait)
    key = auth.accepted_key(request, given)
    if key is None or not key.allows_dashboard():
        await per_client.failed(client)
        await per_key.failed(bucket)
        why = "unknown key" if key is None else "key without the dashboard scope"
        log.warning("dashboard.sign_in_failed", client=client, reason=why)
        actor = Actor(key.name if key else "unknown", "dashboard", client)
        await record_event(runtime_of(request), actor, "failed-sign-in", "dashboard", detail=why)
        return _login_page(request, form.get("next"), REFUSED, 401)
    await per_client.clear(client)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    await auth.start_session(request, response, key)
    log.info("dashboard.signed_in", client=client, key=key.name)
    await record_event(
        runtime_of(request), Actor(key.name, "dashboard", client), "sign-in", "dashboard"
    )
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    response = RedirectResponse("/dashboard/login", status_code=303)
    await auth.end_session(request, response, session)
    actor = Actor(session.key_name, "dashboard", client_address(request))
    await record_event(runtime_of(request), actor, "sign-out", "dashboard")
    return response
