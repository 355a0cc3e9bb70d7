"""The CromosApp RCS simulator in the dev stack, and a sample campaign with a card image."""

from __future__ import annotations

from typing import Any

from disparo.providers.rcs.simulator import IMPORT_PATH, RcsSimulator
from disparo.sim import (
    DevSimulatorSpec,
    RunningSimulator,
    WordPressSimulator,
    make_rows,
    start_server,
)

DEV_RCS_KEY = "chave-dev-rcs"
SAMPLE_MEDIA = "https://cdn.example.com/banner.png"


async def start_rcs(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    simulator = RcsSimulator(api_key=DEV_RCS_KEY)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials(
        "rcs", {"chave_api": DEV_RCS_KEY, "base_url": server.url + IMPORT_PATH}
    )
    return RunningSimulator(simulator, server)


def rcs_sample_rows(agendamento_id: str, count: int) -> list[dict[str, Any]]:
    """Generation-C rows whose campaign shows an image on the RCS card."""
    rows = make_rows(agendamento_id, count)
    for row in rows:
        row["midia_campanha"] = SAMPLE_MEDIA
    return rows


def seed_rcs_sample(wordpress: WordPressSimulator, agendamento_id: str, count: int) -> None:
    wordpress.add_campaign(agendamento_id, rcs_sample_rows(agendamento_id, count))


RCS_DEV_SIMULATOR = DevSimulatorSpec(
    label="CromosApp RCS", start=start_rcs, seed_sample=seed_rcs_sample
)
