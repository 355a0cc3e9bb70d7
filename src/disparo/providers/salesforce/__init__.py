"""Salesforce: Core import, then a Marketing Cloud automation run (CONTRACTS 5.6)."""

from __future__ import annotations

from pydantic import Field

from disparo.providers.plugin import (
    SMS,
    FollowUp,
    ProviderPlugin,
    ProviderSettings,
    SecondStep,
    provider_settings_config,
)
from disparo.providers.salesforce.adapter import MAX_IN_JOB_WAIT, SalesforceProvider


class SalesforceSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_SALESFORCE_")

    # One batch is one sObject Collections request, and the API takes at most 200 records.
    batch_size: int = Field(default=200, ge=1, le=200)
    timeout: float = 120.0
    api_version: str = "59.0"
    # CPF_CNPJ__c of a recipient without one (decision 7.7: "" unless configured).
    empty_cpf: str = ""
    mkc_delay: float = 1200.0
    mkc_timeout: float = 30.0
    mkc_max_attempts: int = 3
    # Marketing Cloud 429s waited out inside one attempt before it counts as a failure.
    mkc_rate_limit_waits: int = 5
    # One SOQL query asking Core which contacts of an UNKNOWN batch it created.
    query_timeout: float = 30.0


def build(settings: SalesforceSettings) -> SalesforceProvider:
    return SalesforceProvider(
        batch_size=settings.batch_size,
        timeout=settings.timeout,
        max_attempts=settings.max_attempts,
        api_version=settings.api_version,
        empty_cpf=settings.empty_cpf,
        mkc_timeout=settings.mkc_timeout,
        rate_limit_waits=settings.mkc_rate_limit_waits,
        query_timeout=settings.query_timeout,
    )


def mkc_step(settings: SalesforceSettings) -> FollowUp:
    # One attempt: the token, every run request and every 429 wait it may take.
    waits = settings.mkc_rate_limit_waits
    return FollowUp(
        step="mkc",
        delay_s=settings.mkc_delay,
        timeout_s=settings.mkc_timeout * (waits + 2) + waits * MAX_IN_JOB_WAIT,
        max_attempts=settings.mkc_max_attempts,
        per_send_batch=False,
        idempotent=False,
        webhook_provider="SALESFORCE_MKC",
        success_webhook="mkc_executado",
        failure_webhook="mkc_erro",
        webhook_totals=True,
    )


PLUGIN = ProviderPlugin(
    code="SALESFORCE",
    label="Salesforce",
    prefix="S",
    queue="salesforce-send",
    settings=SalesforceSettings,
    adapter=build,
    channel=SMS,
    steps=(
        SecondStep(
            step="mkc",
            queue="salesforce-mkc",
            follow_up=mkc_step,
            delay_setting="mkc_delay",
            label="Marketing Cloud",
        ),
    ),
    simulator="disparo.providers.salesforce.dev:SALESFORCE_DEV_SIMULATOR",
)
