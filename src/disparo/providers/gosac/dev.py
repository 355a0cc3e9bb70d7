"""The GOSAC simulator in the dev stack: started on loopback, WordPress's per-environment
credentials pointed at it."""

from __future__ import annotations

from disparo.http_server import start_server
from disparo.providers.gosac.simulator import CREATE_PATH, GosacSimulator
from disparo.providers.simkit import DevSimulatorSpec, RunningSimulator
from disparo.wordpress.simulator import WordPressSimulator

DEV_GOSAC_TOKEN = "tok-dev-gosac"
# The environment of the sample rows (samples.make_rows' default env id).
DEV_ENV_ID = "1001"


async def start_gosac(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    simulator = GosacSimulator(token=DEV_GOSAC_TOKEN)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials(
        "gosac", {"url": server.url + CREATE_PATH, "token": DEV_GOSAC_TOKEN}, env_id=DEV_ENV_ID
    )
    return RunningSimulator(simulator, server)


GOSAC_DEV_SIMULATOR = DevSimulatorSpec(label="GOSAC", start=start_gosac)
