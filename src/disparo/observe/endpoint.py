"""/metrics: on the API behind an API key, and optionally on a port of its own without one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.routing import Route

from disparo.apikeys import Scope
from disparo.http_server import RunningServer, start_server
from disparo.observe.state import SnapshotCollector, take_snapshot
from disparo.runtime import Runtime
from disparo.security import RequireScope

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


# X-API-KEY or `Authorization: Bearer KEY` (what Prometheus sends), with the metrics scope.
@router.get("/metrics", dependencies=[Depends(RequireScope(Scope.METRICS, bearer=True))])
async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    body = await render_metrics(rt, with_state=True)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def start_metrics_server(rt: Runtime, *, with_state: bool) -> RunningServer:
    """DISPARO_METRICS_PORT: the metrics alone, no key, for a scraper on a private network."""

    async def serve_metrics(_: object) -> Response:
        body = await render_metrics(rt, with_state=with_state)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app = Starlette(routes=[Route("/metrics", serve_metrics)])
    return await start_server(app, rt.settings.metrics_host, rt.settings.metrics_port)
