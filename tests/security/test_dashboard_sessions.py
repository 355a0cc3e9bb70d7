"""Dashboard sessions an attacker cannot keep or guess: revoked on sign-out (a copied cookie
is worthless), idle and absolute timeouts, throttled brute force, Secure outside development,
and nothing in the cookie or in Redis from which a key could be derived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from disparo.apikeys import ApiKey, Scope
from disparo.dashboard import sessions
from disparo.dashboard.auth import SESSION_COOKIE
from disparo.devstack import DevStack
from disparo.throttle import Throttle
from tests.conftest import API_KEY, REDIS_URL, StackFactory, make_settings
from tests.dashboard.helpers import browser, csrf_of, sign_in

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _session_cookie(set_cookie_headers: list[str]) -> str:
    return next(h for h in set_cookie_headers if h.startswith(SESSION_COOKIE))


async def _redis_values(prefix: str) -> str:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        values = [str(await client.get(key)) for key in keys if await client.type(key) == "string"]
        return " ".join(keys + values)
    finally:
        await client.aclose()


@SQLITE
async def test_a_copied_cookie_is_worthless_after_sign_out(
    stack_factory: StackFactory, redis_prefix: str
) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client, browser(stack) as thief:
        answer = await sign_in(client, API_KEY)
        cookie = client.cookies.get(SESSION_COOKIE, path="/dashboard")
        assert cookie and API_KEY not in cookie
        thief.cookies.set(SESSION_COOKIE, cookie, path="/dashboard")
        assert (await thief.get("/dashboard")).status_code == 200  # the copy works...
        # ...and neither the cookie nor Redis holds anything the key could come from.
        assert API_KEY not in await _redis_values(redis_prefix)
        assert cookie not in await _redis_values(redis_prefix)  # stored under a hash
        page = await client.get("/dashboard")
        out = await client.post("/dashboard/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await thief.get("/dashboard")).status_code == 303  # ...until sign-out
        assert (await thief.get("/dashboard/api/queues")).status_code == 401
        assert answer.status_code == 303


class MovableClock:
    """Stands in for the sessions' clock: time moves only when the test says so, so a slow
    sign-in on a busy machine cannot end a session the test means to keep."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@SQLITE
async def test_sessions_end_when_idle_and_when_too_old(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = MovableClock()
    monkeypatch.setattr(sessions, "clock", clock)
    idle = await stack_factory(with_worker=False, dashboard_idle_minutes=3)
    async with browser(idle) as client:
        await sign_in(client, API_KEY)
        for _ in range(4):  # in use: stays alive past the 3 min idle timeout
            clock.advance(150)
            assert (await client.get("/dashboard/api/queues")).status_code == 200
        clock.advance(181)
        assert (await client.get("/dashboard/api/queues")).status_code == 401
        # Ended means gone: moving back does not revive it.
        clock.advance(-181)
        assert (await client.get("/dashboard/api/queues")).status_code == 401
    old = await stack_factory(with_worker=False, dashboard_session_hours=1)
    async with browser(old) as client:
        await sign_in(client, API_KEY)
        for _ in range(3):  # busy, never idle for its 30 min...
            clock.advance(1200)
            assert (await client.get("/dashboard/api/queues")).status_code == 200
        clock.advance(1200)  # ...but signed in over an hour ago
        assert (await client.get("/dashboard/api/queues")).status_code == 401


async def test_redis_keeps_a_session_record_only_a_little_past_its_idle_timeout(
    redis_prefix: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/unused.db"
    settings = make_settings(database, redis_prefix, tmp_path, dashboard_idle_minutes=2)
    key = ApiKey(name="key1", secret=API_KEY, scopes=frozenset(Scope))
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        session = await sessions.create(client, settings, b"secret", key)
        ttls = [await client.ttl(name) async for name in client.scan_iter(f"{redis_prefix}:*")]
        assert len(ttls) == 1 and 120 < ttls[0] <= 180
        assert await sessions.load(client, settings, b"secret", session.id, [key]) is not None
        await sessions.end(client, settings, session.id)
        assert await sessions.load(client, settings, b"secret", session.id, [key]) is None
    finally:
        await client.aclose()


class SignOutDuringUse:
    """A Redis client whose GET is followed at once by a sign-out: the other API process's
    DEL landing between this use's read and its write."""

    def __init__(self, client: aioredis.Redis, settings: Any, session_id: str) -> None:
        self._client, self._settings, self._session_id = client, settings, session_id

    async def get(self, key: str) -> Any:
        value = await self._client.get(key)
        await sessions.end(self._client, self._settings, self._session_id)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def test_a_sign_out_during_a_use_is_not_undone_by_it(
    redis_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/unused.db", redis_prefix, tmp_path)
    key = ApiKey(name="key1", secret=API_KEY, scopes=frozenset(Scope))
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        session = await sessions.create(client, settings, b"secret", key)
        racing = SignOutDuringUse(client, settings, session.id)
        await sessions.load(racing, settings, b"secret", session.id, [key])  # the use
        assert [key async for key in client.scan_iter(f"{redis_prefix}:*")] == []
        assert await sessions.load(client, settings, b"secret", session.id, [key]) is None
    finally:
        await client.aclose()


@SQLITE
async def test_brute_force_is_throttled_and_logged(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False, signin_failure_limit=3)
    async with browser(stack) as client:
        statuses = [(await sign_in(client, f"guess-{n}")).status_code for n in range(3)]
        assert statuses == [401, 401, 401]
        # Over the limit: even the right key is not tried from this address.
        blocked = await sign_in(client, API_KEY)
        assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
        assert int(blocked.headers["retry-after"]) > 0
        assert SESSION_COOKIE not in blocked.headers.get("set-cookie", "")
    async with httpx_client(stack) as api:
        audit = (await api.get("/audit", params={"action": "failed-sign-in"})).json()
    assert audit["total"] == 3
    assert {item["client"] for item in audit["items"]} == {"127.0.0.1"}
    assert all("guess" not in str(item) for item in audit["items"])


def httpx_client(stack: DevStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.api.url, headers={"X-API-KEY": API_KEY})


async def test_the_per_key_throttle_counts_one_key_across_clients(redis_prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        per_key = Throttle(client, redis_prefix, "signin-key", 2, 30)
        assert await per_key.retry_after("hmac-of-key") == 0
        await per_key.failed("hmac-of-key")  # from one address
        await per_key.failed("hmac-of-key")  # from another
        assert 1 <= await per_key.retry_after("hmac-of-key") <= 30
        assert await per_key.retry_after("another-key") == 0
    finally:
        await client.aclose()


async def test_a_throttled_counter_always_expires(redis_prefix: str) -> None:
    """INCR and EXPIRE are one step, and a counter without expiry (it cannot be written so;
    here one is made) gets one at the next failure and refuses nobody meanwhile."""
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        throttle = Throttle(client, redis_prefix, "signin-client", 2, 30)
        await throttle.failed("10.0.0.1")
        (counter,) = [key async for key in client.scan_iter(f"{redis_prefix}:*")]
        assert 0 < await client.ttl(counter) <= 30
        await client.persist(counter)  # the expiry lost
        await throttle.failed("10.0.0.1")  # the limit is reached, and the expiry is back
        assert 0 < await client.ttl(counter) <= 30
        assert 1 <= await throttle.retry_after("10.0.0.1") <= 30
        await client.persist(counter)
        assert await throttle.retry_after("10.0.0.1") == 0  # never refused for good
        await throttle.clear("10.0.0.1")  # a success: not throttled, nothing left behind
        assert await throttle.retry_after("10.0.0.1") == 0
    finally:
        await client.aclose()


@SQLITE
async def test_keys_without_the_dashboard_scope_cannot_sign_in(
    stack_factory: StackFactory,
) -> None:
    keys = [SecretStr("wp:dispatch:wp-key-value"), SecretStr("ops:read+dashboard:ops-key")]
    stack = await stack_factory(with_worker=False, api_keys=keys)
    async with browser(stack) as client:
        refused = await sign_in(client, "wp-key-value")
        assert refused.status_code == 401 and "not accepted" in refused.text
        assert (await sign_in(client, "ops-key")).status_code == 303
        assert (await client.get("/dashboard")).status_code == 200
        # Taking the scope away ends the session.
        stack.runtime.settings.api_keys[1] = SecretStr("ops:read:ops-key")
        assert (await client.get("/dashboard")).status_code == 303


@SQLITE
async def test_the_cookie_is_secure_outside_development(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False, env="production")
    async with browser(stack) as client:
        form = await client.get("/dashboard/login")
        login_cookie = form.headers["set-cookie"]
        assert "Secure" in login_cookie
        # A browser sends a Secure cookie over HTTPS only; this test speaks plain HTTP.
        answer = await client.post(
            "/dashboard/login",
            data={"api_key": API_KEY, "csrf_token": csrf_of(form.text)},
            headers={"cookie": login_cookie.split(";")[0]},
        )
        cookie = _session_cookie(answer.headers.get_list("set-cookie"))
        assert "Secure" in cookie and "HttpOnly" in cookie
    dev = await stack_factory(with_worker=False)
    async with browser(dev) as client:
        answer = await sign_in(client, API_KEY)
        assert "Secure" not in _session_cookie(answer.headers.get_list("set-cookie"))


@SQLITE
async def test_the_dashboard_says_so_when_redis_is_down(stack_factory: StackFactory) -> None:
    from disparo.app import create_app
    from disparo.http_server import start_server

    stack = await stack_factory(with_worker=False)
    app = create_app(runtime=stack.runtime)
    async with await start_server(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        app.state.auth_redis = aioredis.Redis.from_url(
            "redis://127.0.0.1:1/0", socket_connect_timeout=1, decode_responses=True
        )
        client.cookies.set(SESSION_COOKIE, "some-session-id", path="/dashboard")
        answer = await client.get("/dashboard/api/queues")
    assert answer.status_code == 503
    assert answer.json()["message"] == "Redis indisponível; tente novamente"
