"""The engine's pool hands out no connection the server has closed, without asking the
server first (no pre-ping round trip): a backend ended under an idle pooled connection, as a
restart or a PgBouncer reload would, is replaced at the next checkout."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from disparo.config import Settings
from disparo.db.engine import create_engine

PID = text("SELECT pg_backend_pid()")


async def _pid(connection: AsyncConnection) -> int:
    return int(await connection.scalar(PID))


async def test_a_connection_the_server_closed_is_replaced_before_use(pg_url: str) -> None:
    engine = create_engine(Settings(database_url=pg_url).sqlalchemy_url)
    try:
        async with engine.connect() as doomed, engine.connect() as killer:
            victim = await _pid(doomed)
            await doomed.commit()
            await doomed.close()  # back in the pool, idle, first in line (FIFO)
            await killer.execute(text(f"SELECT pg_terminate_backend({victim})"))
        await asyncio.sleep(0.2)  # the loop reads the closed socket's end
        async with engine.connect() as next_one:  # no error: replaced at checkout
            assert await _pid(next_one) != victim
    finally:
        await engine.dispose()
