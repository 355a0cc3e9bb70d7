"""The CDA simulator in the dev stack: started on loopback, WordPress's credentials at it."""

from __future__ import annotations

from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.sim import DevSimulatorSpec, RunningSimulator, WordPressSimulator, start_server

DEV_CDA_KEY = "chave-dev-cda"


async def start_cda(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    simulator = CdaSimulator(api_key=DEV_CDA_KEY)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials("cda", {"api_url": server.url + IMPORT_PATH, "api_key": DEV_CDA_KEY})
    return RunningSimulator(simulator, server)


CDA_DEV_SIMULATOR = DevSimulatorSpec(label="CDA", start=start_cda)
