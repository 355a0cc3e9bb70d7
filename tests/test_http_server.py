from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from disparo.http_server import start_server


def _ping_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "ok"}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_port_zero_binds_a_real_port_and_serves() -> None:
    server = await start_server(_ping_app())
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/ping")
        assert response.json() == {"pong": "ok"}
    finally:
        await server.stop()
    assert not server.running


async def test_explicit_port_and_context_manager_stop() -> None:
    port = _free_port()
    async with await start_server(_ping_app(), port=port) as server:
        assert server.port == port
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/ping")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/ping")


async def test_two_servers_side_by_side_and_stop_is_idempotent() -> None:
    a, b = await asyncio.gather(start_server(_ping_app()), start_server(_ping_app()))
    assert a.port != b.port
    await asyncio.gather(a.stop(), b.stop())
    await a.stop()


async def test_signal_handlers_of_the_host_are_left_alone() -> None:
    before = signal.getsignal(signal.SIGINT)
    async with await start_server(_ping_app()):
        assert signal.getsignal(signal.SIGINT) is before


async def test_failing_lifespan_raises_instead_of_exiting_the_process() -> None:
    @asynccontextmanager
    async def broken(_: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("boom")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="failed to start"):
        await start_server(FastAPI(lifespan=broken))


async def test_busy_port_raises() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            await start_server(_ping_app(), port=taken.getsockname()[1])
