"""GOSAC: create a campaign, then start it after a delay (CONTRACTS 5.2)."""

from __future__ import annotations

from disparo.providers.gosac.adapter import GosacProvider
from disparo.providers.plugin import (
    FollowUp,
    ProviderPlugin,
    ProviderSettings,
    SecondStep,
    provider_settings_config,
)


class GosacSettings(ProviderSettings):
    model_config = provider_settings_config("DISPARO_GOSAC_")

    # Creation may already start the campaign (Gen C dropped the step): off per environment.
    start_enabled: bool = True
    start_delay: float = 120.0
    start_timeout: float = 60.0
    start_max_attempts: int = 3


def build(settings: GosacSettings) -> GosacProvider:
    return GosacProvider(
        batch_size=settings.batch_size,
        timeout=settings.timeout,
        start_timeout=settings.start_timeout,
        max_attempts=settings.max_attempts,
    )


def start_step(settings: GosacSettings) -> FollowUp:
    # 5.2: success needs no webhook (rows are already `enviado`), and `iniciado` is never
    # sent (Gen B WordPress turns it into `erro`); `erro_inicio` is `erro` in both.
    return FollowUp(
        step="start",
        delay_s=settings.start_delay,
        timeout_s=settings.start_timeout,
        max_attempts=settings.start_max_attempts,
        per_send_batch=True,
        idempotent=True,
        webhook_provider="GOSAC",
        success_webhook=None,
        failure_webhook="erro_inicio",
        webhook_totals=False,
    )


PLUGIN = ProviderPlugin(
    code="GOSAC",
    label="GOSAC",
    prefix="G",
    queue="gosac-send",
    settings=GosacSettings,
    adapter=build,
    steps=(
        SecondStep(
            step="start",
            queue="gosac-start",
            follow_up=start_step,
            delay_setting="start_delay",
            label="GOSAC start",
            enabled=lambda settings: settings.start_enabled,
        ),
    ),
    simulator="disparo.providers.gosac.dev:GOSAC_DEV_SIMULATOR",
)
