"""Shared fixtures: a fresh PostgreSQL database or SQLite file per test, the real Redis with a
private key prefix per test, and the whole stack (simulators, API, workers) on loopback."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from pydantic import SecretStr

from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.devstack import DevStack, start_dev_stack
from tests.support import SwappableApp, settings_with

# The tests run disparo as development (loopback simulators, short test keys); a test of
# production mode says so itself. Set before any Settings() is read, and inherited by the
# `disparo` processes tests start with os.environ.
os.environ["DISPARO_ENV"] = "development"

PG_ADMIN_URL = os.environ.get(
    "DISPARO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("DISPARO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
API_KEY = "test-api-key"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with scratch_database(PG_ADMIN_URL, "disparo_t") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/disparo.sqlite3"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    fixture = "pg_url" if request.param == "postgresql" else "sqlite_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def make_settings(database_url: str, prefix: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "queue_prefix": prefix,
        "data_dir": data_dir,
        "api_keys": [SecretStr(API_KEY), SecretStr("rotated-key")],
        "wordpress_api_key": SecretStr("wp-master-key"),
        "retry_base_delay": 0.2,
        "dispatch_retry_delay": 0.2,
        "webhook_retry_delay": 0.2,
        "retry_max_delay": 1.0,
        "reconcile_interval": 3600.0,
        "log_format": "console",
        **overrides,
    }
    return settings_with(**values)


StackFactory = Callable[..., Awaitable[DevStack]]


@pytest.fixture
async def stack_factory(
    db_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[StackFactory]:
    """Start the stack with setting overrides: `stack = await stack_factory(cda_batch_size=10)`."""
    started: list[DevStack] = []

    async def start(
        with_worker: bool = True, wordpress_url: str | None = None, **overrides: Any
    ) -> DevStack:
        settings = make_settings(db_url, redis_prefix, tmp_path, **overrides)
        stack = await start_dev_stack(
            settings, with_worker=with_worker, wordpress_url=wordpress_url
        )
        started.append(stack)
        return stack

    yield start
    for stack in started:
        await stack.stop()


@pytest.fixture
async def stack(stack_factory: StackFactory) -> DevStack:
    return await stack_factory()


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(current: SwappableApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the module's `current` loopback server (a simulator test module defines
    `current`; one that needs another client defines its own `client`)."""
    async with httpx.AsyncClient(base_url=current.url, timeout=5) as c:
        yield c


@pytest.fixture
async def closed_port() -> AsyncIterator[int]:
    """A loopback port nobody listens on: a provider, or a Redis, that cannot be reached."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    yield port
