"""The whole system in one event loop: simulators, API and workers. Used by `disparo dev`,
`disparo demo` and the end-to-end tests, so what the demo shows is what the tests prove."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from disparo.app import create_app
from disparo.config import Settings
from disparo.dev_simulators import DEV_SIMULATORS
from disparo.http_server import RunningServer, start_server
from disparo.migrations import upgrade
from disparo.runtime import Runtime, open_runtime
from disparo.sim import RunningSimulator
from disparo.sim.wordpress import WordPressSimulator
from disparo.worker import run_worker, served_queues

DEV_API_KEY = "dev-api-key"


@dataclass
class Ports:
    api: int = 0
    wordpress: int = 0
    # Fixed ports for some provider simulators; the others get a free one.
    providers: dict[str, int] = field(default_factory=dict)


@dataclass
class DevStack:
    settings: Settings
    runtime: Runtime
    wordpress: WordPressSimulator
    simulators: dict[str, RunningSimulator]
    api: RunningServer
    wordpress_server: RunningServer
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    worker_task: asyncio.Task[None] | None = None

    @property
    def api_key(self) -> str:
        return self.settings.inbound_keys[0].secret  # the key itself, without NAME:SCOPES:

    @property
    def cda(self) -> Any:
        return self.simulators["CDA"].simulator

    async def stop(self) -> None:
        self.stop_event.set()
        if self.worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.worker_task, timeout=30)
        await self.api.stop()
        await self.runtime.close()
        for running in self.simulators.values():
            await running.server.stop()
        await self.wordpress_server.stop()


async def start_dev_stack(
    settings: Settings,
    ports: Ports | None = None,
    *,
    with_worker: bool = True,
    wordpress_url: str | None = None,
) -> DevStack:
    """`wordpress_url`: a real WordPress to use instead of the simulator (which still runs)."""
    ports = ports or Ports()
    if not settings.api_keys:
        settings = settings.model_copy(update={"api_keys": [SecretStr(DEV_API_KEY)]})
    master_key = settings.outbound_wordpress_key
    wordpress = WordPressSimulator(master_key=master_key)
    wordpress_server = await start_server(wordpress.app, port=ports.wordpress)
    simulators = {
        code: await spec.start(wordpress, ports.providers.get(code, 0))
        for code, spec in DEV_SIMULATORS.items()
    }
    settings = settings.model_copy(update={"wordpress_url": wordpress_url or wordpress_server.url})
    await upgrade(settings.sqlalchemy_url)
    runtime = await open_runtime(settings)
    api = await start_server(create_app(runtime=runtime), port=ports.api)
    stack = DevStack(settings, runtime, wordpress, simulators, api, wordpress_server)
    if with_worker:
        stack.worker_task = asyncio.create_task(
            run_worker(runtime, served_queues(), stack.stop_event)
        )
    return stack
