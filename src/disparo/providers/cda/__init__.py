"""CDA: CromosApp's WhatsApp campaign import (CONTRACTS 5.1)."""

from __future__ import annotations

from disparo.providers.cda.adapter import CdaProvider
from disparo.providers.plugin import (
    ProviderPlugin,
    ProviderSettings,
    plain_adapter,
    provider_settings_config,
)


class CdaSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_CDA_")

    timeout: float = 120.0


PLUGIN = ProviderPlugin(
    code="CDA",
    label="CDA",
    prefix="C",
    queue="cda-send",
    settings=CdaSettings,
    adapter=plain_adapter(CdaProvider),
    simulator="disparo.providers.cda.dev:CDA_DEV_SIMULATOR",
)
