"""NOAH: contacts import (CONTRACTS 5.3)."""

from __future__ import annotations

from disparo.providers.noah.adapter import NoahProvider
from disparo.providers.plugin import (
    ProviderPlugin,
    ProviderSettings,
    plain_adapter,
    provider_settings_config,
)


class NoahSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_NOAH_")


PLUGIN = ProviderPlugin(
    code="NOAH",
    label="NOAH",
    prefix="N",
    queue="noah-send",
    settings=NoahSettings,
    adapter=plain_adapter(NoahProvider),
    simulator="disparo.providers.noah.dev:NOAH_DEV_SIMULATOR",
)
