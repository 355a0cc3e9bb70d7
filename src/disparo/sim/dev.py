"""What a provider package offers the dev stack: how to start its simulator on loopback,
point the WordPress simulator's credentials at it, and seed a sample campaign."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from disparo.http_server import RunningServer, start_server
from disparo.sim.wordpress import WordPressSimulator


@dataclass
class RunningSimulator:
    """A started simulator: `simulator.requests` records what it received."""

    simulator: Any
    server: RunningServer

    @property
    def requests(self) -> list[Any]:
        return list(self.simulator.requests)


StartSimulator = Callable[[WordPressSimulator, int], Awaitable[RunningSimulator]]
SeedSample = Callable[[WordPressSimulator, str, int], None]


def seed_plain_rows(wordpress: WordPressSimulator, agendamento_id: str, count: int) -> None:
    """The default demo campaign: the contract's generation-C rows with a free text."""
    wordpress.seed_campaign(agendamento_id, count)


@dataclass(frozen=True)
class DevSimulatorSpec:
    label: str
    start: StartSimulator
    seed_sample: SeedSample = seed_plain_rows


# The environment of the sample rows (samples.make_rows' default env id).
DEV_ENV_ID = "1001"


def url_token_simulator(
    label: str, credentials: str, make: Callable[[str], Any], path: str, token: str
) -> DevSimulatorSpec:
    """A simulator whose WordPress credentials are a per-environment `{url, token}` block
    (GOSAC, NOAH): `make(token)` builds it, `path` is appended to where it listens."""

    async def start(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
        simulator = make(token)
        server = await start_server(simulator.app, port=port)
        block = {"url": server.url + path, "token": token}
        wordpress.set_credentials(credentials, block, env_id=DEV_ENV_ID)
        return RunningSimulator(simulator, server)

    return DevSimulatorSpec(label=label, start=start)
