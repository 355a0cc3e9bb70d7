"""The NOAH simulator in the dev stack: WordPress's per-environment credentials point at it."""

from __future__ import annotations

from disparo.providers.noah.simulator import BASE_PATH, NoahSimulator
from disparo.sim.dev import DEV_ENV_ID, url_token_simulator

__all__ = ["DEV_ENV_ID", "DEV_NOAH_TOKEN", "NOAH_DEV_SIMULATOR"]

DEV_NOAH_TOKEN = "tok-dev-noah"
NOAH_DEV_SIMULATOR = url_token_simulator("NOAH", "noah", NoahSimulator, BASE_PATH, DEV_NOAH_TOKEN)
