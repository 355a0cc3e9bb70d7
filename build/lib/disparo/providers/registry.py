"""Which adapter handles which provider code: adding a provider is one line here."""

from __future__ import annotations

from disparo.config import Settings
from disparo.providers.base import Provider, ProviderCode
from disparo.providers.cda.adapter import CdaProvider


def build_registry(settings: Settings) -> dict[ProviderCode, Provider]:
    return {
        ProviderCode.CDA: CdaProvider(
            batch_size=settings.cda_batch_size,
            timeout=settings.cda_timeout,
            max_attempts=settings.cda_max_attempts,
        ),
    }
