"""The providers disparo serves: one line per provider package in PLUGINS. Queue names, job
handlers, second steps, the dev stack's simulators and the demo's choices are read from here."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from disparo.providers.base import Provider
from disparo.providers.plugin import RCS, ProviderPlugin, ProviderSettings, SecondStep
from disparo.providers.policy import check_overrides, step_key
from disparo.queues.names import QueueName

if TYPE_CHECKING:
    from disparo.config import Settings

# The provider packages under disparo.providers, each exporting its PLUGIN.
PACKAGES = (
    "cda",
    "gosac",
    "noah",
    "rcs",
    "rcs_otima",
    "salesforce",
    "whatsapp_otima",
)


def _load(package: str) -> ProviderPlugin[Any]:
    plugin = importlib.import_module(f"disparo.providers.{package}").PLUGIN
    if not isinstance(plugin, ProviderPlugin):
        raise TypeError(f"disparo.providers.{package}.PLUGIN is not a ProviderPlugin")
    return plugin


PLUGINS: tuple[ProviderPlugin[Any], ...] = tuple(_load(package) for package in PACKAGES)

# CONTRACTS 3.1 recognises these prefixes too; a dispatch of one is refused by name ("não é
# atendido") rather than as an unknown prefix. A plugin with the same prefix serves it.
RECOGNISED_PREFIXES: Mapping[str, str] = {
    "W": "WHATSAPP_OTIMA",
    "F": "GOSAC_OFICIAL",
    "H": "NOAH_OFICIAL",
    "B": "ROBBU_OFICIAL",
    "T": "TECHIA",
    "M": "MAKING_OFICIAL",
}

BY_CODE: Mapping[str, ProviderPlugin[Any]] = {plugin.code: plugin for plugin in PLUGINS}
BY_PREFIX: Mapping[str, str] = {**RECOGNISED_PREFIXES} | {p.prefix: p.code for p in PLUGINS}
SEND_QUEUES: Mapping[str, str] = {plugin.code: plugin.queue for plugin in PLUGINS}
SECOND_STEPS: Mapping[str, tuple[ProviderPlugin[Any], SecondStep[Any]]] = {
    step.step: (plugin, step) for plugin in PLUGINS for step in plugin.steps
}
# The DISPARO_PROVIDER_POLICIES keys of the second steps: "GOSAC:start", "SALESFORCE:mkc".
STEP_POLICY_KEYS = frozenset(step_key(p.code, step.step) for p in PLUGINS for step in p.steps)
# The step -> queue table of the delayed second steps.
STEP_QUEUES: Mapping[str, str] = {name: step.queue for name, (_, step) in SECOND_STEPS.items()}
RCS_PROVIDERS = frozenset(plugin.code for plugin in PLUGINS if plugin.channel == RCS)
# Every queue: the dispatch, each provider's send queue and second steps, then ours.
ALL_QUEUES: tuple[str, ...] = (
    QueueName.DISPATCH_CAMPAIGN,
    *(queue for p in PLUGINS for queue in (p.queue, *(step.queue for step in p.steps))),
    QueueName.WEBHOOKS,
    QueueName.MAINTENANCE,
    QueueName.UNKNOWN_QUERIES,
)


def identify_provider(agendamento_id: str) -> str | None:
    """The provider named by the id's prefix (upper-cased first character), or None when the
    prefix means nothing. A recognised provider without a plugin is returned too: the
    dispatch then refuses it by name."""
    stripped = agendamento_id.strip()
    return BY_PREFIX.get(stripped[:1].upper()) if stripped else None


def known_codes() -> frozenset[str]:
    return frozenset(BY_PREFIX.values())


def provider_settings(settings: Settings, code: str) -> ProviderSettings:
    """The provider's own settings (its DISPARO_<CODE>_* variables), with the overrides the
    base settings carry for it; read once per base settings object."""
    overrides = settings.provider_overrides.get(code, {})
    key = (code, orjson.dumps(overrides, option=orjson.OPT_SORT_KEYS, default=str))
    cache = settings.provider_settings_cache
    if key not in cache:
        cache[key] = BY_CODE[code].load_settings(overrides)
    found: ProviderSettings = cache[key]
    return found


def check_provider_settings(settings: Settings) -> None:
    """Refuse, naming them, provider codes, second steps and fields the registry does not
    know in the base settings' per-provider maps (DISPARO_PROVIDER_POLICIES,
    DISPARO_PROVIDER_HOSTS). Checked here, not in config.py, which sits below the providers
    and knows none of them."""
    check_overrides(settings.provider_policies, known_codes(), STEP_POLICY_KEYS)
    hosts = settings.provider_hosts
    unknown = sorted(code for code in hosts if code.strip().upper() not in known_codes())
    if unknown:
        raise ValueError(f"DISPARO_PROVIDER_HOSTS: fornecedor desconhecido {unknown}")


def build_registry(settings: Settings) -> dict[str, Provider]:
    """One adapter per served provider, configured from its settings (checked first)."""
    check_provider_settings(settings)
    return {p.code: p.adapter(provider_settings(settings, p.code)) for p in PLUGINS}


def split_overrides(flat: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`cda_batch_size=10` style overrides (the variable's name without DISPARO_, lower
    case) split into the base settings' and each provider's: {"CDA": {"batch_size": 10}}."""
    base: dict[str, Any] = {}
    providers: dict[str, dict[str, Any]] = {}
    for name, value in flat.items():
        owner = _owner(name)
        if owner is None:
            base[name] = value
        else:
            plugin, field = owner
            providers.setdefault(plugin.code, {})[field] = value
    return base, providers


def _owner(name: str) -> tuple[ProviderPlugin[Any], str] | None:
    """The plugin whose prefix is the longest match of `name` and has that field."""
    best: tuple[ProviderPlugin[Any], str] | None = None
    for plugin in PLUGINS:
        prefix = plugin.env_prefix().lower().removeprefix("disparo_")
        field = name.removeprefix(prefix)
        fits = name.startswith(prefix) and field in plugin.settings.model_fields
        if fits and (best is None or len(field) < len(best[1])):
            best = (plugin, field)
    return best


def env_names(plugins: Iterable[ProviderPlugin[Any]] = PLUGINS) -> dict[str, tuple[str, str]]:
    """Every provider variable: DISPARO_CDA_BATCH_SIZE -> ("CDA", "batch_size")."""
    return {
        f"{plugin.env_prefix()}{field}".upper(): (plugin.code, field)
        for plugin in plugins
        for field in plugin.settings.model_fields
    }
