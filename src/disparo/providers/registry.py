"""Which adapter handles which provider code: adding a provider is one line here."""

from __future__ import annotations

from disparo.config import Settings
from disparo.providers.base import Provider, ProviderCode
from disparo.providers.cda.adapter import CdaProvider
from disparo.providers.gosac.adapter import GosacProvider
from disparo.providers.noah.adapter import NoahProvider
from disparo.providers.rcs.adapter import RcsProvider
from disparo.providers.rcs_otima.adapter import OtimaProvider
from disparo.providers.salesforce.adapter import SalesforceProvider


def build_registry(settings: Settings) -> dict[ProviderCode, Provider]:
    return {
        ProviderCode.CDA: CdaProvider(
            batch_size=settings.cda_batch_size,
            timeout=settings.cda_timeout,
            max_attempts=settings.cda_max_attempts,
        ),
        ProviderCode.GOSAC: GosacProvider(
            batch_size=settings.gosac_batch_size,
            timeout=settings.gosac_timeout,
            start_timeout=settings.gosac_start_timeout,
            max_attempts=settings.gosac_max_attempts,
        ),
        ProviderCode.NOAH: NoahProvider(
            batch_size=settings.noah_batch_size,
            timeout=settings.noah_timeout,
            max_attempts=settings.noah_max_attempts,
        ),
        ProviderCode.SALESFORCE: SalesforceProvider(
            batch_size=settings.salesforce_batch_size,
            timeout=settings.salesforce_timeout,
            max_attempts=settings.salesforce_max_attempts,
            api_version=settings.salesforce_api_version,
            empty_cpf=settings.salesforce_empty_cpf,
            mkc_timeout=settings.salesforce_mkc_timeout,
            rate_limit_waits=settings.salesforce_mkc_rate_limit_waits,
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
