"""Every route of the app declares who may call it: an API scope (RequireScope) or a dashboard
session. A route added without either fails here, so nothing is opened by mistake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from disparo.apikeys import Scope
from disparo.app import create_app
from disparo.dashboard.auth import SessionWith, current_session
from disparo.security import RequireScope

# Open on purpose: liveness, readiness (answers only ok/unavailable), the sign-in form.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/dashboard/login"),
    ("POST", "/dashboard/login"),
}
PUBLIC_MOUNTS = {"/dashboard/static"}  # CSS and JS, no data


def _calls(dependant: Any) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def guard_of(dependant: Any) -> str | None:
    """'scope:NAME', 'dashboard:NAME+NAME' (a session whose key has those scopes) or
    'dashboard-session' (any session), or None for an open route."""
    for call in _calls(dependant):
        if isinstance(call, RequireScope):
            return f"scope:{call.scope.value}"
        if isinstance(call, SessionWith):
            return "dashboard:" + "+".join(scope.value for scope in call.scopes)
        if call is current_session:
            return "dashboard-session"
    return None


def routes(app: FastAPI | None = None) -> dict[tuple[str, str], str | None]:
    """(method, path) of every route the app serves (included routers flattened, as FastAPI
    serves them), with its guard."""
    app = app or create_app()
    found: dict[tuple[str, str], str | None] = {}
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if isinstance(original, Mount):
            assert original.path in PUBLIC_MOUNTS, f"unexpected mount {original.path}"
            continue
        assert isinstance(original, APIRoute), f"route of an unknown kind: {original!r}"
        for method in context.methods or ():
            found[(method, str(context.path))] = guard_of(context.dependant)
    return found


def test_every_route_has_auth_and_a_scope() -> None:
    found = routes()
    open_routes = {route for route, guard in found.items() if guard is None}
    assert open_routes == PUBLIC
    assert len(found) > 25  # the enumeration sees the whole app


def test_a_route_added_without_a_scope_is_caught() -> None:
    app = create_app()
    router = APIRouter(prefix="/new")

    @router.get("/thing")
    async def thing() -> dict[str, str]:
        return {}

    app.include_router(router)
    assert routes(app)[("GET", "/new/thing")] is None


def test_each_api_route_has_the_scope_its_work_needs() -> None:
    found = routes()
    expected = {
        ("POST", "/campaigns/dispatch"): Scope.DISPATCH,
        ("POST", "/campaigns/preflight"): Scope.READ,
        ("GET", "/campaigns/{key}/status"): Scope.READ,
        ("GET", "/campaigns"): Scope.READ,
        ("GET", "/campaigns/{key}/messages"): Scope.READ,
        ("GET", "/dead-letters"): Scope.READ,
        ("GET", "/webhooks/undeliverable"): Scope.READ,
        ("GET", "/audit"): Scope.READ,
        ("GET", "/docs"): Scope.READ,
        ("GET", "/openapi.json"): Scope.READ,
        ("GET", "/metrics"): Scope.METRICS,
        ("POST", "/webhooks/{outbox_id}/replay"): Scope.OPERATE,
        ("POST", "/dead-letters/redrive"): Scope.OPERATE,
        ("POST", "/dead-letters/{batch_id}/redrive"): Scope.OPERATE,
        ("GET", "/suppressions"): Scope.READ,
        ("GET", "/suppressions/export"): Scope.READ,
        ("POST", "/suppressions"): Scope.OPERATE,
        ("POST", "/suppressions/import"): Scope.OPERATE,
        ("DELETE", "/suppressions/{phone:phone}"): Scope.OPERATE,
        ("GET", "/providers/health"): Scope.READ,
        ("POST", "/providers/{account}/hold"): Scope.OPERATE,
        ("POST", "/providers/{account}/resume"): Scope.OPERATE,
    }
    for action in ("pause", "resume", "cancel", "retry-failed", "retry-unknown"):
        expected[("POST", f"/campaigns/{{key}}/{action}")] = Scope.OPERATE
    assert {route: found[route] for route in expected} == {
        route: f"scope:{scope.value}" for route, scope in expected.items()
    }
    others = {r: g for r, g in found.items() if r not in expected and r not in PUBLIC}
    assert all(path.startswith("/dashboard") for _, path in others)


def test_each_dashboard_route_needs_what_the_api_would() -> None:
    # `dashboard` alone opens no page: a page shows what `read` shows, an action does what
    # `operate` does (its confirmation shows the campaign, so it needs both).
    dashboard = {r: g for r, g in routes().items() if r[1].startswith("/dashboard")}
    expected = {
        ("POST", "/dashboard/logout"): "dashboard-session",
        ("GET", "/dashboard/campaigns/{key}/confirm/{name}"): "dashboard:read+operate",
        ("POST", "/dashboard/campaigns/{key}/{name}"): "dashboard:operate",
        ("GET", "/dashboard/dead-letters/confirm"): "dashboard:read+operate",
        ("POST", "/dashboard/dead-letters/redrive"): "dashboard:operate",
        ("POST", "/dashboard/suppressions"): "dashboard:operate",
        ("POST", "/dashboard/suppressions/{phone}/remove"): "dashboard:operate",
        ("POST", "/dashboard/providers/{account}/{name}"): "dashboard:operate",
    }
    pages = {r: "dashboard:read" for r in dashboard if r not in expected and r not in PUBLIC}
    assert {r: g for r, g in dashboard.items() if r not in PUBLIC} == expected | pages
    assert len(pages) >= 7  # /dashboard, queues, audit, a campaign, their JSON
