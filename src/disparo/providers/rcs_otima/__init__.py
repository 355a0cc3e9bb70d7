"""Ótima RCS bulk API (prefix O, CONTRACTS 5.5)."""

from __future__ import annotations

from pydantic import Field

from disparo.providers.plugin import (
    RCS,
    ProviderPlugin,
    ProviderSettings,
    provider_settings_config,
)
from disparo.providers.rcs_otima.adapter import OtimaProvider


class RcsOtimaSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_RCS_OTIMA_")

    # Ótima takes at most 1,000 messages per request (CONTRACTS 5.5): one batch = one request.
    batch_size: int = Field(1_000, ge=1, le=1_000)
    timeout: float = 60.0
    # Sent as each message's url_callback_status / url_callback_mo when set.
    status_callback_url: str = ""
    mo_callback_url: str = ""


def build(settings: RcsOtimaSettings) -> OtimaProvider:
    return OtimaProvider(
        batch_size=settings.batch_size,
        timeout=settings.timeout,
        max_attempts=settings.max_attempts,
        callbacks=(settings.status_callback_url, settings.mo_callback_url),
    )


PLUGIN = ProviderPlugin(
    code="RCS_OTIMA",
    label="Ótima RCS",
    prefix="O",
    queue="rcs-otima-send",
    settings=RcsOtimaSettings,
    adapter=build,
    channel=RCS,
    simulator="disparo.providers.rcs_otima.dev:OTIMA_DEV_SIMULATOR",
)
