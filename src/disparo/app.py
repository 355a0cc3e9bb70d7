"""FastAPI factory. The lifespan owns the runtime (engine, Redis queues, HTTP client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from disparo.admission import Admission, AdmissionLimits
from disparo.api.webhooks import router as webhooks_router
from disparo.apikeys import Scope
from disparo.apischema import install_openapi
from disparo.audit.endpoints import router as audit_router
from disparo.bodylimit import BodyLimit
from disparo.campaigns.callback_endpoints import CallbackReceiver, close_callback_writer
from disparo.campaigns.control_endpoints import router as controls_router
from disparo.campaigns.endpoints import document_dispatch
from disparo.campaigns.endpoints import router as campaigns_router
from disparo.campaigns.preflight_endpoints import router as preflight_router
from disparo.campaigns.provider_endpoints import router as providers_router
from disparo.config import Settings, get_settings
from disparo.dashboard import mount_dashboard
from disparo.errors import install_error_handlers
from disparo.health import check_database, check_redis
from disparo.logs import configure_logging
from disparo.observe.endpoint import router as metrics_router
from disparo.observe.endpoint import start_metrics_server
from disparo.production import config_problems
from disparo.runtime import Runtime, open_runtime
from disparo.security import RequireScope, close_redis_client
from disparo.suppressions.endpoints import IMPORT_PATH
from disparo.suppressions.endpoints import router as suppressions_router

if TYPE_CHECKING:
    from disparo.http_server import RunningServer

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """With `runtime` given (tests, `disparo dev`), the caller owns and closes it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            await close_callback_writer(app.state)
            await close_redis_client(app.state)
            return
        chosen = settings or get_settings()
        configure_logging(chosen)
        refuse_unsafe(chosen)
        app.state.runtime = await open_runtime(chosen)
        metrics_server = await _start_metrics_port(app.state.runtime)
        try:
            yield
        finally:
            if metrics_server is not None:
                await metrics_server.stop()
            await close_callback_writer(app.state)
            await close_redis_client(app.state)
            await app.state.runtime.close()

    app = FastAPI(
        title="disparo",
        version="0.1.0",
        description="Campaign dispatch service for the WordPress campaign panel.",
        lifespan=lifespan,
        # Served below behind the `read` scope (open in development).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    install_openapi(app, lambda schema: document_dispatch(schema, app.state.runtime.providers))
    app.add_middleware(BodyLimit, limits=lambda scope: _body_limits(scope["app"], scope))
    # Outside the body limit and the routes: a refused request costs no body read and no
    # key check. (Added later, and so outside it: the dashboard headers and the callbacks.)
    app.add_middleware(Admission, limits=lambda scope: _admission_limits(scope["app"]))
    app.include_router(campaigns_router)
    app.include_router(controls_router)
    app.include_router(preflight_router)
    app.include_router(webhooks_router)
    app.include_router(audit_router)
    app.include_router(suppressions_router)
    app.include_router(providers_router)
    _add_docs(app)
    # issue 6: /metrics and the dashboard
    app.include_router(metrics_router)
    mount_dashboard(app)
    # Last, so it is the outermost: Ótima's callbacks skip every layer below (issue 14).
    app.add_middleware(CallbackReceiver, state=app.state)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    async def ready(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        checks = {"database": await check_database(rt), "redis": await check_redis(rt)}
        if any(value != "ok" for value in checks.values()):
            log.warning("api.not_ready", **checks)
        # Only the kind of error goes out: /ready answers anyone, the details stay in the log.
        checks = {name: value.split(":")[0] for name, value in checks.items()}
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)

    return app


def refuse_unsafe(settings: Settings) -> None:
    """In production, unsafe settings stop the start-up (one line per setting)."""
    problems = config_problems(settings)
    if problems:
        raise SystemExit("disparo refuses to start:\n" + "\n".join(f"  - {p}" for p in problems))


def _body_limits(app: FastAPI, scope: dict[str, Any]) -> tuple[int, float]:
    settings = app.state.runtime.settings
    if scope.get("path") == IMPORT_PATH:  # a CSV of a million phones is tens of MB
        return settings.suppressions_import_max_bytes, settings.suppressions_import_timeout
    return settings.max_body_bytes, settings.body_timeout


def _admission_limits(app: FastAPI) -> AdmissionLimits:
    settings = app.state.runtime.settings
    return AdmissionLimits(
        in_flight=settings.api_max_in_flight,
        queued=settings.api_max_queued,
        wait=settings.api_queue_wait,
        retry_after=1,
    )


def _add_docs(app: FastAPI) -> None:
    docs_scope = [Depends(RequireScope(Scope.READ, open_in_development=True))]

    @app.get("/openapi.json", include_in_schema=False, dependencies=docs_scope)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=docs_scope)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="disparo")


async def _start_metrics_port(rt: Runtime) -> RunningServer | None:
    if not rt.settings.metrics_port:
        return None
    return await start_metrics_server(rt, with_state=True)
