"""Run an ASGI app on a real loopback port inside the current asyncio loop.

Used by the tests and the demo to serve the HTTP simulators (and the service itself)
without a subprocess: ``async with await start_server(app) as server: ... server.url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

__all__ = ["RunningServer", "start_server"]

_STARTUP_POLL_S = 0.005
_TICK_S = 0.1  # uvicorn's tick: refreshes the Date header every 10 ticks


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the host process's signal handlers alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The embedding program (pytest, the CLI) owns SIGINT/SIGTERM, not this server.
        yield

    def request_exit(self) -> None:
        self.should_exit = True
        self._wake.set()

    async def main_loop(self) -> None:
        # uvicorn's loop, but woken by request_exit() instead of finishing a 0.1 s sleep,
        # so stopping a server costs a test ~0.1 s less.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _TICK_S)
            should_exit = await self.on_tick(counter)


class RunningServer:
    """A started server; ``stop()`` (or leaving the ``async with``) shuts it down."""

    def __init__(self, server: _EmbeddedServer, task: asyncio.Task[None], host: str, port: int):
        self._server = server
        self._task = task
        self.host = host
        self.port = port
        url_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{url_host}:{port}"

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def stop(self) -> None:
        """Ask the server to exit and wait until it has (idempotent)."""
        self._server.request_exit()
        if not self._task.done():
            await self._task
        elif not self._task.cancelled():
            # Surface a crash of the serve task instead of hiding it.
            self._task.result()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response with a body waits ~40 ms (Nagle +
    # delayed ACK), because uvicorn writes the head and the body separately.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        # uvicorn calls sys.exit() when the app's lifespan startup fails; inside a task that
        # would escape the event loop and end the host process.
        raise RuntimeError(f"uvicorn exited with code {exc.code}") from None
    finally:
        sock.close()


async def start_server(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    graceful_timeout_s: int = 2,
) -> RunningServer:
    """Serve ``app`` on ``host:port`` (``port=0``: a free port) and return once it accepts.

    ``graceful_timeout_s`` bounds how long ``stop()`` waits for in-flight requests (for
    example a simulator told to delay its answer) before cancelling them.
    """
    sock = _bind(host, port)
    bound_port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        log_level="warning",
        lifespan="on",
        # Keep uvicorn from reconfiguring the process's logging, and skip optional stacks.
        log_config=None,
        access_log=False,
        ws="none",
        # The embedded servers (tests, simulators, `disparo dev`) keep h11 in the host's own
        # loop; `disparo serve` runs httptools on uvloop, and tests/deploy drive that.
        http="h11",
        timeout_graceful_shutdown=graceful_timeout_s,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(_serve(server, sock), name=f"uvicorn:{bound_port}")
    try:
        while not server.started:
            if task.done():
                break
            await asyncio.sleep(_STARTUP_POLL_S)
    except BaseException:
        server.request_exit()
        await asyncio.gather(task, return_exceptions=True)
        raise
    if not server.started:
        exc = task.exception() if not task.cancelled() else None
        raise RuntimeError(f"server on {host}:{bound_port} failed to start") from exc
    return RunningServer(server, task, host, bound_port)
