"""FastAPI factory. The lifespan owns the runtime (engine, Redis queues, HTTP client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from disparo.campaigns.endpoints import router as campaigns_router
from disparo.config import Settings, get_settings
from disparo.errors import install_error_handlers
from disparo.logs import configure_logging
from disparo.runtime import Runtime, open_runtime


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """With `runtime` given (tests, `disparo dev`), the caller owns and closes it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        chosen = settings or get_settings()
        configure_logging(chosen)
        app.state.runtime = await open_runtime(chosen)
        try:
            yield
        finally:
            await app.state.runtime.close()

    app = FastAPI(
        title="disparo",
        version="0.1.0",
        description="Campaign dispatch service for the WordPress campaign panel.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(campaigns_router)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    async def ready(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        checks = {"database": await _check_db(rt), "redis": await _check_redis(rt)}
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)

    return app


async def _check_db(rt: Runtime) -> str:
    try:
        async with rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


async def _check_redis(rt: Runtime) -> str:
    client = aioredis.Redis.from_url(rt.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()  # type: ignore[misc]
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    finally:
        await client.aclose()
    return "ok"
