"""Ótima WhatsApp HSM bulk API (prefix W, CONTRACTS 5.7)."""

from __future__ import annotations

from pydantic import Field

from disparo.providers.plugin import ProviderPlugin, ProviderSettings, provider_settings_config
from disparo.providers.whatsapp_otima.adapter import WhatsappOtimaProvider


class WhatsappOtimaSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_WHATSAPP_OTIMA_")

    # At most 1,000 messages per request (5.5's figure, ASSUMED): one batch = one request.
    batch_size: int = Field(1_000, ge=1, le=1_000)
    timeout: float = 60.0
    # Gen B accounts read the recipient from `phone`: send it beside `whatsapp`.
    send_phone: bool = False


def build(settings: WhatsappOtimaSettings) -> WhatsappOtimaProvider:
    return WhatsappOtimaProvider(
        batch_size=settings.batch_size,
        timeout=settings.timeout,
        max_attempts=settings.max_attempts,
        send_phone=settings.send_phone,
    )


PLUGIN = ProviderPlugin(
    code="WHATSAPP_OTIMA",
    label="Ótima WhatsApp",
    prefix="W",
    queue="whatsapp-otima-send",
    settings=WhatsappOtimaSettings,
    adapter=build,
    simulator="disparo.providers.whatsapp_otima.dev:DEV_SIMULATOR",
)
