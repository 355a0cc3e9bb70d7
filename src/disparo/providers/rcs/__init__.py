"""CromosApp RCS campaign import (prefix R, CONTRACTS 5.4)."""

from __future__ import annotations

from disparo.providers.plugin import (
    RCS,
    ProviderPlugin,
    ProviderSettings,
    plain_adapter,
    provider_settings_config,
)
from disparo.providers.rcs.adapter import RcsProvider


class RcsSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_RCS_")

    timeout: float = 120.0


PLUGIN = ProviderPlugin(
    code="RCS",
    label="CromosApp RCS",
    prefix="R",
    queue="rcs-send",
    settings=RcsSettings,
    adapter=plain_adapter(RcsProvider),
    channel=RCS,
    simulator="disparo.providers.rcs.dev:RCS_DEV_SIMULATOR",
)
