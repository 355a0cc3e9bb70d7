"""Can this process reach what it needs? Used by /ready and by the CLI before it starts."""

from __future__ import annotations

import redis.asyncio as aioredis
from sqlalchemy import text

from disparo.runtime import Runtime


async def check_database(rt: Runtime) -> str:
    """'ok', or what went wrong in a line an operator can act on."""
    try:
        async with rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    return "ok"


async def check_redis(rt: Runtime) -> str:
    client = aioredis.Redis.from_url(rt.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()  # type: ignore[misc]
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    finally:
        await client.aclose()
    return "ok"


async def problems(rt: Runtime) -> list[str]:
    found = []
    database, redis = await check_database(rt), await check_redis(rt)
    if database != "ok":
        found.append(f"banco de dados ({rt.settings.safe_database_url}): {database}")
    if redis != "ok":
        found.append(f"Redis ({rt.redis_url}): {redis}")
    return found
