"""Can this process reach what it needs? Used by /ready and by the CLI before it starts."""

from __future__ import annotations

from sqlalchemy import text

from disparo import redaction
from disparo.runtime import Runtime


async def check_database(rt: Runtime) -> str:
    """'ok', or what went wrong in a line an operator can act on."""
    try:
        async with rt.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return _error_line(exc)
    return "ok"


async def check_redis(rt: Runtime) -> str:
    client = rt.redis_target.client(socket_timeout=2)
    try:
        await client.ping()  # type: ignore[misc]
    except Exception as exc:
        return _error_line(exc)
    finally:
        await client.aclose()
    return "ok"


async def problems(rt: Runtime) -> list[str]:
    found = []
    database, redis = await check_database(rt), await check_redis(rt)
    if database != "ok":
        found.append(f"banco de dados ({rt.settings.safe_database_url}): {database}")
    if redis != "ok":
        found.append(f"Redis ({safe_redis_url(rt.redis_url)}): {redis}")
    return found


def safe_redis_url(url: str) -> str:
    """The Redis URL with its password hidden (redis://:pw@host, rediss://user:pw@host)."""
    return redaction.mask_text(url)


def _error_line(exc: Exception) -> str:
    """What went wrong in one line an operator can act on, with any secret masked (a driver
    may print the URL it was given, password included)."""
    return redaction.mask_text(f"error: {type(exc).__name__}: {exc}".splitlines()[0])[:300]
