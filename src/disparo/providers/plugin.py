"""What a provider package declares: one `PLUGIN = ProviderPlugin(...)` in its __init__.py.

Everything the rest of disparo needs to know about a provider (its prefix, queue, settings,
adapter, delayed second steps, channel, development simulator) is read from that one value,
so adding a provider is its folder plus one line in providers/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

from disparo.providers.base import Provider

WHATSAPP = "WHATSAPP"
RCS = "RCS"
SMS = "SMS"


class ProviderSettings(BaseSettings):
    """A provider's own settings, read from its own prefix (`DISPARO_CDA_BATCH_SIZE`...)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Recipients per batch (one batch is one request, or a few for providers that chunk).
    batch_size: int = 100_000
    # One HTTP request to the provider.
    timeout: float = 30.0
    # Attempts before a batch is a dead letter.
    max_attempts: int = 5


def provider_settings_config(env_prefix: str) -> SettingsConfigDict:
    """The model_config of a provider's settings class: its prefix, the shared rest."""
    return SettingsConfigDict(
        env_prefix=env_prefix, env_file=".env", extra="ignore", populate_by_name=True
    )


@dataclass(frozen=True, slots=True)
class FollowUp:
    """How one delayed second step runs and what WordPress hears about it."""

    step: str
    delay_s: float
    timeout_s: float
    max_attempts: int
    # GOSAC: one start per created campaign (send batch); Salesforce: one run per agendamento.
    per_send_batch: bool
    # Whether running it twice is harmless: GOSAC's start is ("already started" = success),
    # an automation run is not, so an unknown outcome there is never repeated blind.
    idempotent: bool
    webhook_provider: str
    success_webhook: str | None
    failure_webhook: str
    # Marketing Cloud's webhooks carry totals 0/0 (ran) and 0/1 (failed); GOSAC's none.
    webhook_totals: bool


S = TypeVar("S", bound=ProviderSettings)


class PlainAdapter(Protocol):
    def __call__(self, *, batch_size: int, timeout: float, max_attempts: int) -> Provider: ...


def plain_adapter(adapter: PlainAdapter) -> Callable[[ProviderSettings], Provider]:
    """The factory of an adapter that takes only the three common settings."""

    def build(settings: ProviderSettings) -> Provider:
        return adapter(
            batch_size=settings.batch_size,
            timeout=settings.timeout,
            max_attempts=settings.max_attempts,
        )

    return build


@dataclass(frozen=True, slots=True)
class SecondStep(Generic[S]):
    """A delayed second step (CONTRACTS 4.5): its provider_batches.step value, its queue, and
    how the provider's settings make its FollowUp."""

    step: str
    queue: str
    follow_up: Callable[[S], FollowUp]
    # The settings field holding the delay (the demo shortens it to seconds).
    delay_setting: str
    # How the demo names it ("GOSAC start").
    label: str
    # Whether the step runs at all with these settings (GOSAC's can be switched off).
    enabled: Callable[[S], bool] = lambda settings: True


@dataclass(frozen=True, slots=True)
class ProviderPlugin(Generic[S]):
    code: str
    # How people name it (README, `disparo dev`, the demo).
    label: str
    # The first character of agendamento_id naming it (CONTRACTS 3.1).
    prefix: str
    queue: str
    settings: type[S]
    adapter: Callable[[S], Provider]
    channel: str = WHATSAPP
    steps: tuple[SecondStep[S], ...] = ()
    # "module:NAME" of its sim.DevSimulatorSpec: a string, so that importing a plugin never
    # imports its simulator (only the dev stack, the demo and tests resolve it).
    simulator: str = ""

    def env_prefix(self) -> str:
        return str(self.settings.model_config.get("env_prefix", ""))

    def load_settings(self, overrides: dict[str, Any] | None = None) -> S:
        return self.settings(**(overrides or {}))
