"""Which adapter handles which provider code: adding a provider is one line here."""

from __future__ import annotations

from disparo.config import Settings
from disparo.providers.base import Provider, ProviderCode
from disparo.providers.cda.adapter import CdaProvider
from disparo.providers.rcs.adapter import RcsProvider
from disparo.providers.rcs_otima.adapter import OtimaProvider


def build_registry(settings: Settings) -> dict[ProviderCode, Provider]:
    return {
        ProviderCode.CDA: CdaProvider(
            batch_size=settings.cda_batch_size,
            timeout=settings.cda_timeout,
            max_attempts=settings.cda_max_attempts,
        ),
        ProviderCode.RCS: RcsProvider(
            batch_size=settings.rcs_batch_size,
            timeout=settings.rcs_timeout,
            max_attempts=settings.rcs_max_attempts,
        ),
        ProviderCode.RCS_OTIMA: OtimaProvider(
            batch_size=settings.rcs_otima_batch_size,
            timeout=settings.rcs_otima_timeout,
            max_attempts=settings.rcs_otima_max_attempts,
            callbacks=(
                settings.rcs_otima_status_callback_url,
                settings.rcs_otima_mo_callback_url,
            ),
        ),
    }
