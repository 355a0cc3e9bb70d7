"""Everything that names providers is read from the registry of plugins: queues, handlers,
second steps, the RCS list, the dev stack's simulators, the demo's choices, the README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from disparo.campaigns.fallback import provider_channel
from disparo.campaigns.followups import STEP_QUEUES, follow_up_for
from disparo.campaigns.tasks import HANDLERS, handle_send, handle_step
from disparo.cli import DEMO_PROVIDERS
from disparo.config import Settings
from disparo.dev_simulators import DEV_SIMULATORS
from disparo.providers.plugin import RCS, ProviderPlugin
from disparo.providers.registry import PLUGINS, RCS_PROVIDERS, build_registry, provider_settings
from disparo.queues.names import QueueName

ROOT = Path(__file__).resolve().parents[2]
by_code = pytest.mark.parametrize("plugin", PLUGINS, ids=lambda plugin: plugin.code)


def _queues(plugin: ProviderPlugin[Any]) -> list[str]:
    return [plugin.queue, *(step.queue for step in plugin.steps)]


def readme_provider_rows() -> dict[str, tuple[str, str, str]]:
    """README "### Providers" table: prefix -> (name, queue column, settings column)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Providers\n\n", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        found = re.fullmatch(r"(.+) \(`(.)`\)", cells[0])
        assert found, f"README provider row without 'name (`P`)': {cells[0]!r}"
        rows[found[2]] = (found[1], cells[1], cells[-1])
    return rows


def test_the_readme_provider_table_is_the_registry() -> None:
    rows = readme_provider_rows()
    assert set(rows) == {plugin.prefix for plugin in PLUGINS}
    for plugin in PLUGINS:
        name, queues, settings = rows[plugin.prefix]
        assert name == plugin.label
        assert queues == ", then ".join(f"`{queue}`" for queue in _queues(plugin))
        assert f"`{plugin.env_prefix()}*`" in settings


def test_every_queue_of_every_plugin_has_its_handler() -> None:
    own = {
        QueueName.DISPATCH_CAMPAIGN,
        QueueName.WEBHOOKS,
        QueueName.MAINTENANCE,
        QueueName.UNKNOWN_QUERIES,
    }
    for plugin in PLUGINS:
        assert HANDLERS[plugin.queue] is handle_send
        for step in plugin.steps:
            assert HANDLERS[step.queue] is handle_step
            assert STEP_QUEUES[step.step] == step.queue
    assert set(HANDLERS) == own | {q for plugin in PLUGINS for q in _queues(plugin)}


@by_code
def test_the_adapter_is_the_plugin(plugin: ProviderPlugin[Any]) -> None:
    settings = Settings(_env_file=None)
    adapter = build_registry(settings)[plugin.code]
    assert adapter.code == plugin.code
    own = provider_settings(settings, plugin.code)
    assert isinstance(own, plugin.settings)
    assert adapter.batch_size() <= own.batch_size
    assert adapter.max_attempts == own.max_attempts


@by_code
def test_second_steps_follow_the_plugin(plugin: ProviderPlugin[Any]) -> None:
    settings = Settings(_env_file=None)
    spec = follow_up_for(settings, plugin.code)
    if not plugin.steps:
        assert spec is None
        return
    step = plugin.steps[0]
    assert spec is not None and spec.step == step.step
    delay = getattr(provider_settings(settings, plugin.code), step.delay_setting)
    assert spec.delay_s == delay
    shorter = settings.with_provider(plugin.code, **{step.delay_setting: 1.5})
    assert (follow_up_for(shorter, plugin.code) or spec).delay_s == 1.5


def test_a_switched_off_second_step_is_not_planned() -> None:
    settings = Settings(_env_file=None).with_provider("GOSAC", start_enabled=False)
    assert follow_up_for(settings, "GOSAC") is None


def test_the_rcs_providers_are_the_plugins_of_the_rcs_channel() -> None:
    assert {p.code for p in PLUGINS if p.channel == RCS} == RCS_PROVIDERS
    assert {"RCS", "RCS_OTIMA"} <= RCS_PROVIDERS
    for plugin in PLUGINS:
        assert provider_channel(plugin.code) == (RCS if plugin.channel == RCS else None)


def test_the_dev_stack_and_the_demo_offer_every_plugin_simulator() -> None:
    with_simulator = [plugin.code for plugin in PLUGINS if plugin.simulator]
    assert with_simulator == [plugin.code for plugin in PLUGINS]
    assert list(DEV_SIMULATORS) == with_simulator
    assert with_simulator == DEMO_PROVIDERS
