"""The provider simulators that `disparo dev`, `disparo demo` and the end-to-end tests start:
each plugin names its own (`ProviderPlugin.simulator`), resolved only here. It stands above
the registry it reads, outside disparo.sim, which the providers' simulators import (so sim
itself looks only down)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from disparo.providers.registry import PLUGINS
from disparo.sim.dev import DevSimulatorSpec


def _resolve(reference: str) -> DevSimulatorSpec:
    module, _, name = reference.partition(":")
    spec = getattr(importlib.import_module(module), name)
    if not isinstance(spec, DevSimulatorSpec):
        raise TypeError(f"{reference} is not a DevSimulatorSpec")
    return spec


DEV_SIMULATORS: Mapping[str, DevSimulatorSpec] = {
    plugin.code: _resolve(plugin.simulator) for plugin in PLUGINS if plugin.simulator
}
