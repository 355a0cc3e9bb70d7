"""What simulators share: the fault kit and request recording, the dev stack's glue, sample
rows and the WordPress simulator. Only the dev stack, the demo and tests import this package
(and each provider's simulator, which imports nothing else of disparo)."""

from __future__ import annotations

from disparo.http_server import RunningServer, start_server
from disparo.sim.dev import DevSimulatorSpec, RunningSimulator, seed_plain_rows
from disparo.sim.faults import (
    ANY_ROUTE,
    JSON_TYPE,
    Fault,
    FaultPlan,
    RecordedRequest,
    SimulatorBase,
    json_response,
)
from disparo.sim.samples import DEFAULT_MESSAGE, make_rows
from disparo.sim.wordpress import WordPressSimulator

__all__ = [
    "ANY_ROUTE",
    "DEFAULT_MESSAGE",
    "JSON_TYPE",
    "DevSimulatorSpec",
    "Fault",
    "FaultPlan",
    "RecordedRequest",
    "RunningServer",
    "RunningSimulator",
    "SimulatorBase",
    "WordPressSimulator",
    "json_response",
    "make_rows",
    "seed_plain_rows",
    "start_server",
]
