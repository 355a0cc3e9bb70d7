"""What a provider package offers the dev stack: how to start its simulator on loopback,
point the WordPress simulator's credentials at it, and seed a sample campaign."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from disparo.http_server import RunningServer
from disparo.wordpress.simulator import WordPressSimulator


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
