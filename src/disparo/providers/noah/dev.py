"""The NOAH simulator in the dev stack: started on loopback, WordPress's per-environment
credentials pointed at it."""

from __future__ import annotations

from disparo.http_server import start_server
from disparo.providers.noah.simulator import BASE_PATH, NoahSimulator
from disparo.providers.simkit import DevSimulatorSpec, RunningSimulator
from disparo.wordpress.simulator import WordPressSimulator

DEV_NOAH_TOKEN = "tok-dev-noah"
DEV_ENV_ID = "1001"


async def start_noah(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    simulator = NoahSimulator(token=DEV_NOAH_TOKEN)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials(
        "noah", {"url": server.url + BASE_PATH, "token": DEV_NOAH_TOKEN}, env_id=DEV_ENV_ID
    )
    return RunningSimulator(simulator, server)


NOAH_DEV_SIMULATOR = DevSimulatorSpec(label="NOAH", start=start_noah)
