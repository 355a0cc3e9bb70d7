"""The API as an attacker meets it: scopes, throttled wrong keys, bounded and slow bodies,
the key checked before any body is read, and the docs behind `read` in production."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from disparo.devstack import DevStack
from tests.conftest import StackFactory

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

WP = "w" * 40
OPS = "o" * 40
MON = "m" * 40
KEYS = [
    SecretStr(f"wp:dispatch:{WP}"),
    SecretStr(f"ops:read+operate+dashboard:{OPS}"),
    SecretStr(f"prometheus:metrics:{MON}"),
]
CAMPAIGN = "C20250115093000"


async def _stack(stack_factory: StackFactory, **overrides: Any) -> DevStack:
    return await stack_factory(with_worker=False, api_keys=list(KEYS), **overrides)


def _client(stack: DevStack, key: str | None = None) -> httpx.AsyncClient:
    headers = {"X-API-KEY": key} if key else {}
    return httpx.AsyncClient(base_url=stack.api.url, headers=headers, timeout=30)


async def test_each_key_opens_only_its_scopes(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    async with _client(stack, WP) as wp, _client(stack, OPS) as ops, _client(stack, MON) as mon:
        dispatched = await wp.post("/campaigns/dispatch", json={"agendamento_id": CAMPAIGN})
        assert dispatched.status_code == 202
        campaign = dispatched.json()["campaign_id"]
        refused = await wp.post(f"/campaigns/{campaign}/cancel")
        assert refused.status_code == 403
        assert refused.json() == {
            "statusCode": 403,
            "message": "A API key 'wp' não tem o escopo 'operate'",
            "error": "Forbidden",
        }
        assert (await wp.get("/campaigns")).status_code == 403
        assert (await wp.get("/metrics")).status_code == 403
        assert (
            await ops.post("/campaigns/dispatch", json={"agendamento_id": "C2"})
        ).status_code == 403
        assert (await ops.get(f"/campaigns/{campaign}/status")).status_code == 200
        assert (await ops.post(f"/campaigns/{campaign}/pause")).status_code == 200
        assert (await ops.get("/metrics")).status_code == 403
        assert (await mon.get("/metrics")).status_code == 200
        bearer = await mon.get(
            "/metrics", headers={"X-API-KEY": "", "Authorization": f"Bearer {MON}"}
        )
        assert bearer.status_code == 200
        assert (await mon.get("/campaigns")).status_code == 403


async def test_wrong_keys_from_one_client_are_throttled(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory, auth_failure_limit=3, auth_failure_window=60)
    async with _client(stack, "not-a-key") as wrong, _client(stack, OPS) as right:
        statuses = [(await wrong.get("/campaigns")).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        # The address is throttled, whatever key it sends now: guessing stops being cheap.
        throttled = await right.get("/campaigns")
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "Too Many Requests"
        assert 1 <= int(throttled.headers["retry-after"]) <= 60


async def test_a_body_over_the_cap_is_refused_before_it_is_read(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory, max_body_bytes=1000)
    async with _client(stack, WP) as wp:
        big = {"agendamento_id": CAMPAIGN, "padding": "x" * 2000}
        declared = await wp.post("/campaigns/dispatch", json=big)
        assert declared.status_code == 413
        assert declared.json() == {
            "statusCode": 413,
            "message": "Corpo da requisição maior que o limite de 1000 bytes",
            "error": "Request Entity Too Large",
        }

        async def chunks() -> Any:  # no Content-Length: counted on the stream
            yield json.dumps(big).encode()[:600]
            yield json.dumps(big).encode()[600:]

        streamed = await wp.post(
            "/campaigns/dispatch", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413 and streamed.json()["statusCode"] == 413
        # The dashboard sign-in too.
        login = await wp.post("/dashboard/login", content=b"api_key=" + b"x" * 5000)
        assert login.status_code == 413
        # Nothing was created by the refused dispatches.
        assert (await wp.post("/campaigns/dispatch", json={"agendamento_id": CAMPAIGN})).json()[
            "message"
        ] == "Campanha adicionada à fila"


async def _slow_request(stack: DevStack, head: list[bytes], first: bytes) -> bytes:
    url = httpx.URL(stack.api.url)
    assert url.host and url.port
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + first)
        await writer.drain()  # and never send the rest
        return await asyncio.wait_for(reader.read(), timeout=20)
    finally:
        writer.close()


async def test_a_body_that_trickles_in_is_cut_off(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory, body_timeout=1.0)
    head = [
        b"POST /campaigns/dispatch HTTP/1.1",
        b"Host: x",
        b"Content-Type: application/json",
        b"Content-Length: 100",
        f"X-API-KEY: {WP}".encode(),
    ]
    started = asyncio.get_running_loop().time()
    answer = await _slow_request(stack, head, b'{"agendamento_id": ')
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"statusCode":408' in answer
    assert asyncio.get_running_loop().time() - started < 10


@pytest.mark.parametrize(
    "path", ["/campaigns/C1/retry-failed", "/campaigns/C1/retry-unknown", "/dead-letters/redrive"]
)
async def test_the_key_is_checked_before_the_body_is_parsed(
    stack_factory: StackFactory, path: str
) -> None:
    stack = await _stack(stack_factory)
    async with _client(stack) as anonymous, _client(stack, OPS) as ops:
        answer = await anonymous.post(
            path, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 401
        assert answer.json()["message"] == "API Key não fornecida"
        invalid = await ops.post(
            path, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert invalid.status_code == 400


async def test_a_405_says_what_is_allowed(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    async with _client(stack, OPS) as ops:
        answer = await ops.delete("/campaigns")
        assert answer.status_code == 405
        assert answer.headers["allow"] == "GET"
        assert answer.json()["statusCode"] == 405


async def test_docs_are_behind_read_in_production(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory, env="production")
    async with _client(stack) as anonymous, _client(stack, OPS) as ops, _client(stack, WP) as wp:
        for path in ("/docs", "/openapi.json"):
            assert (await anonymous.get(path)).status_code == 401, path
            assert (await wp.get(path)).status_code == 403, path
            assert (await ops.get(path)).status_code == 200, path
        assert "/campaigns/dispatch" in (await ops.get("/openapi.json")).json()["paths"]
        assert (await anonymous.get("/health")).status_code == 200


async def test_docs_are_open_in_development(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    async with _client(stack) as anonymous:
        assert (await anonymous.get("/openapi.json")).status_code == 200
        assert (await anonymous.get("/docs")).status_code == 200


async def test_the_throttle_lets_requests_through_when_redis_is_unreachable(
    stack_factory: StackFactory,
) -> None:
    import redis.asyncio as aioredis

    from disparo.app import create_app
    from disparo.http_server import start_server

    stack = await _stack(stack_factory, auth_failure_limit=1)
    app = create_app(runtime=stack.runtime)
    async with await start_server(app) as server:
        # The throttle's own client pointed at a port where nothing listens.
        app.state.auth_redis = aioredis.Redis.from_url(
            "redis://127.0.0.1:1/0", socket_connect_timeout=1, decode_responses=True
        )
        headers = {"X-API-KEY": "wrong"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            started = asyncio.get_running_loop().time()
            wrong = [(await api.get("/campaigns", headers=headers)).status_code for _ in range(3)]
            assert wrong == [401] * 3  # not 429 (no counter), not 500
            right = await api.get("/campaigns", headers={"X-API-KEY": OPS})
            assert right.status_code == 200
            assert asyncio.get_running_loop().time() - started < 10
