"""The GOSAC simulator in the dev stack: WordPress's per-environment credentials point at it."""

from __future__ import annotations

from disparo.providers.gosac.simulator import CREATE_PATH, GosacSimulator
from disparo.sim.dev import DEV_ENV_ID, url_token_simulator

__all__ = ["DEV_ENV_ID", "DEV_GOSAC_TOKEN", "GOSAC_DEV_SIMULATOR"]

DEV_GOSAC_TOKEN = "tok-dev-gosac"
GOSAC_DEV_SIMULATOR = url_token_simulator(
    "GOSAC", "gosac", GosacSimulator, CREATE_PATH, DEV_GOSAC_TOKEN
)
