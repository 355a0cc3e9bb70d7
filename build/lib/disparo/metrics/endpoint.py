"""/metrics: on the API behind an API key, and optionally on a port of its own without one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.routing import Route

from disparo.errors import Unauthorized, Unavailable
from disparo.http_server import RunningServer, start_server
from disparo.metrics.state import SnapshotCollector, take_snapshot
from disparo.runtime import Runtime
from disparo.security import is_api_key

router = APIRouter(include_in_schema=False)


async def render_metrics(rt: Runtime, *, with_state: bool) -> bytes:
    """This process's counters, plus (API processes) the state read from the database and
    Redis. Workers leave the state out so that summing over processes stays correct."""
    output = generate_latest(REGISTRY)
    if with_state:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(await take_snapshot(rt)))
        output += generate_latest(registry)
    return output


def _given_key(request: Request) -> str:
    # Prometheus sends `authorization: {credentials: KEY}` as a Bearer token.
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.headers.get("x-api-key", "")


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    if not rt.settings.api_keys:
        raise Unavailable("Nenhuma API key configurada no disparo (DISPARO_API_KEYS)")
    if not is_api_key(rt.settings.api_keys, _given_key(request)):
        raise Unauthorized("API Key inválida ou ausente (X-API-KEY ou Authorization: Bearer)")
    body = await render_metrics(rt, with_state=True)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def start_metrics_server(rt: Runtime, *, with_state: bool) -> RunningServer:
    """DISPARO_METRICS_PORT: the metrics alone, no key, for a scraper on a private network."""

    async def serve_metrics(_: object) -> Response:
        body = await render_metrics(rt, with_state=with_state)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app = Starlette(routes=[Route("/metrics", serve_metrics)])
    return await start_server(app, rt.settings.metrics_host, rt.settings.metrics_port)
