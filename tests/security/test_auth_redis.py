"""The client behind API-key throttles and dashboard sessions reaches the Redis the queues
use, password included (it was built from the password-free description, and throttles
fail open, so nothing but this test would notice)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from disparo.queues.connection import RedisTarget
from disparo.security import close_redis_client, redis_client
from tests.faults.infra import free_port
from tests.support import clean_settings

PASSWORD = "s3cret-auth-redis"


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(tmp_path), "--requirepass", PASSWORD]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    ping = ["redis-cli", "-p", str(port), "--no-auth-warning", "-a", PASSWORD, "PING"]
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(ping, capture_output=True, text=True).stdout.strip() != "PONG":
            assert time.monotonic() < deadline, "redis-server with a password did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


async def test_the_auth_client_reaches_a_redis_that_needs_a_password(password_redis: int) -> None:
    settings = clean_settings(redis_url=f"redis://127.0.0.1:{password_redis}/0")
    settings = settings.model_copy(update={"redis_password": SecretStr(PASSWORD)})
    target = RedisTarget.from_settings(settings, str(settings.redis_url))
    runtime = SimpleNamespace(redis_target=target, redis_url=target.describe())
    state: Any = SimpleNamespace(runtime=runtime)
    client = redis_client(SimpleNamespace(app=SimpleNamespace(state=state)))  # type: ignore[arg-type]
    try:
        await client.set("auth-redis-probe", "1", ex=5)
        assert await client.get("auth-redis-probe") == "1"
    finally:
        await close_redis_client(state)
