"""The operators' dashboard at /dashboard: server-rendered pages, a small script that polls
JSON for live figures, no CDN and nothing to build."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette import types as asgi
from starlette.datastructures import MutableHeaders

from disparo.apikeys import Scope
from disparo.dashboard.auth import CsrfRejected, ScopeRequired, Session, SignInRequired

STATIC = Path(__file__).parent / "static"
# No inline script or style anywhere: the policy can forbid them outright.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def mount_dashboard(app: FastAPI) -> None:
    from disparo.dashboard import (
        action_routes,
        dead_letter_routes,
        preflight_page,
        provider_routes,
        routes,
        signin,
        suppressions,
    )
    from disparo.dashboard.action_routes import UnknownAction
    from disparo.dashboard.pages import CampaignNotFound

    pages = (signin, routes, action_routes, dead_letter_routes, preflight_page, suppressions)
    for module in (*pages, provider_routes):
        app.include_router(module.router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(ScopeRequired, _scope_required)
    app.add_exception_handler(CampaignNotFound, _not_found)
    app.add_exception_handler(UnknownAction, _unknown_action)

    app.add_middleware(DashboardHeaders)


class DashboardHeaders:
    """The security headers on every dashboard page. Pure ASGI: Starlette's
    BaseHTTPMiddleware (`@app.middleware`) costs every API request a task and a stream."""

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/dashboard") or "/static/" in path:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: asgi.Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/dashboard/api/")


async def _sign_in(request: Request, _: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"message": "Signed out: sign in again"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/dashboard"
    return RedirectResponse(f"/dashboard/login?next={_quote(target)}", status_code=303)


async def _csrf_rejected(request: Request, _: Exception) -> Response:
    return _message(
        request,
        403,
        "This form expired or did not come from the dashboard",
        "Nothing was changed. Go back, reload the page and try again.",
    )


async def _scope_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScopeRequired)
    key, scope = exc.session.key_name, exc.scope.value
    text = (
        f"The API key named {key} you signed in with has no {scope} scope, which this needs "
        "(as on the API). Nothing was changed. A key for the dashboard needs the scopes "
        "dashboard+read, and operate for actions, in DISPARO_API_KEYS."
    )
    if _wants_json(request):
        return JSONResponse({"message": text}, status_code=403)
    # With the session, so that the page still offers to sign out.
    title = f"This key may not {_VERBS.get(exc.scope, 'do this')}"
    return _message(request, 403, title, text, exc.session)


_VERBS = {Scope.READ: "see this page", Scope.OPERATE: "act on campaigns"}


async def _not_found(request: Request, _: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"message": "No such campaign"}, status_code=404)
    return _message(request, 404, "No such campaign", "Nothing matches that id or agendamento_id.")


async def _unknown_action(request: Request, _: Exception) -> Response:
    return _message(request, 404, "No such action", "The dashboard offers no action by that name.")


def _message(
    request: Request, status: int, title: str, text: str, session: Session | None = None
) -> Response:
    from disparo.dashboard.pages import templates

    context = {"title": title, "text": text, "session": session, "nav": ""}
    return templates.TemplateResponse(request, "message.html", context, status_code=status)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")
