"""Sign-in and sign-out pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from disparo.dashboard import auth
from disparo.dashboard.pages import SessionDep, render

router = APIRouter(prefix="/dashboard", include_in_schema=False)


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


@router.post("/login")
async def login(request: Request) -> Response:
    form = await auth.read_form(request)
    try:
        auth.check_login_token(request, form.get("csrf_token", ""))
    except auth.CsrfRejected:
        error = "The sign-in form expired. Please try again."
        return _login_page(request, form.get("next"), error, 400)
    if not auth.key_accepted(request, form.get("api_key", "")):
        return _login_page(request, form.get("next"), "That API key is not accepted.", 401)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    auth.start_session(request, response, form["api_key"].strip())
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    response = RedirectResponse("/dashboard/login", status_code=303)
    auth.end_session(response)
    return response
