"""Who may call what: every route depends on `RequireScope(scope)` (or, for dashboard pages,
on a dashboard session). The key check runs before any body is read: a caller without a key
learns nothing, not even whether its JSON parses.

Wrong keys are counted per client address (throttle.py); a client over the limit gets 429
before its key is even compared.
"""

from __future__ import annotations

from typing import Annotated, Any

import redis.asyncio as aioredis
import structlog
from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from disparo.apikeys import ApiKey, Scope, find_key
from disparo.errors import DisparoError, Unauthorized, Unavailable
from disparo.runtime import Runtime
from disparo.throttle import Throttle

log = structlog.get_logger(__name__)


class Forbidden(DisparoError):
    status_code = 403


class TooManyRequests(DisparoError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


def client_address(request: Request) -> str:
    """The peer address (behind a proxy: uvicorn's --proxy-headers/--forwarded-allow-ips
    make it the real client's)."""
    return request.client.host if request.client else "unknown"


def redis_client(request: Request) -> aioredis.Redis:
    """This app's Redis client for throttles and dashboard sessions: a pool of its own with
    short timeouts (the queues' client retries for minutes and holds one connection, which
    would stall every request behind a Redis outage), created on first use."""
    state = request.app.state
    client: aioredis.Redis | None = getattr(state, "auth_redis", None)
    if client is None:
        rt: Runtime = state.runtime
        # The target, not `rt.redis_url`: that is for messages (no password, and a
        # Sentinel or Cluster address redis-py cannot connect to).
        client = rt.redis_target.client(socket_timeout=2, connect_timeout=2)
        state.auth_redis = client
    return client


async def close_redis_client(state: Any) -> None:
    client: aioredis.Redis | None = getattr(state, "auth_redis", None)
    if client is not None:
        state.auth_redis = None
        await client.aclose()


def api_key_throttle(request: Request) -> Throttle:
    rt: Runtime = request.app.state.runtime
    settings = rt.settings
    return Throttle(
        redis_client(request),
        settings.queue_prefix,
        "api-key",
        settings.auth_failure_limit,
        settings.auth_failure_window,
    )


def _given_key(request: Request, bearer: bool) -> str:
    if bearer:  # Prometheus sends `authorization: {credentials: KEY}` as a Bearer token.
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return (request.headers.get("x-api-key") or "").strip()


async def authenticate(request: Request, scope: Scope, *, bearer: bool = False) -> ApiKey:
    """The configured key the request carries, allowed `scope`; or 401/403/429/503."""
    rt: Runtime = request.app.state.runtime
    keys = rt.settings.inbound_keys
    if not keys:
        raise Unavailable("Nenhuma API key configurada no disparo (DISPARO_API_KEYS)")
    given = _given_key(request, bearer)
    if not given:
        raise Unauthorized("API Key não fornecida")
    client = client_address(request)
    throttle = api_key_throttle(request)
    wait = await throttle.retry_after(client)
    if wait:
        raise TooManyRequests(
            f"Muitas API keys inválidas deste endereço; tente de novo em {wait} s", wait
        )
    key = find_key(keys, given)
    if key is None:
        await throttle.failed(client)
        log.warning("api.key_rejected", client=client, path=request.url.path)
        raise Unauthorized("API Key inválida")
    if not key.allows(scope):
        log.warning("api.scope_refused", key=key.name, scope=scope.value, path=request.url.path)
        raise Forbidden(f"A API key {key.name!r} não tem o escopo {scope.value!r}")
    request.state.api_key = key
    return key


# Declared so that the OpenAPI document says how to authenticate; the check is ours.
API_KEY_HEADER = APIKeyHeader(name="X-API-KEY", auto_error=False)


class RequireScope:
    """The dependency every API route declares; `scope` is what the route needs (a test
    enumerates the routes and fails on one without it)."""

    def __init__(self, scope: Scope, *, bearer: bool = False, open_in_development: bool = False):
        self.scope = scope
        self.bearer = bearer
        self.open_in_development = open_in_development

    async def __call__(
        self, request: Request, _: Annotated[str | None, Security(API_KEY_HEADER)] = None
    ) -> ApiKey | None:
        rt: Runtime = request.app.state.runtime
        if self.open_in_development and rt.settings.env == "development":
            return None
        return await authenticate(request, self.scope, bearer=self.bearer)


def actor_of(request: Request) -> str:
    """The name of the key that made this request (for the audit log)."""
    key = getattr(request.state, "api_key", None)
    return key.name if isinstance(key, ApiKey) else "unknown"
