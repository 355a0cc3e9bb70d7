"""The provider simulators that `disparo dev`, `disparo demo` and the end-to-end tests start.

Adding a provider's simulator to the dev stack is one line in ``DEV_SIMULATORS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from disparo.providers.base import ProviderCode
from disparo.providers.cda.dev import CDA_DEV_SIMULATOR
from disparo.providers.simkit import DevSimulatorSpec

DEV_SIMULATORS: Mapping[ProviderCode, DevSimulatorSpec] = {
    ProviderCode.CDA: CDA_DEV_SIMULATOR,
}
