"""The outbound settings as an operator writes them."""

from __future__ import annotations

import pytest

from disparo.config import Settings
from disparo.net import policy_from
from disparo.providers.registry import build_registry


def test_private_addresses_follow_the_mode_unless_set() -> None:
    assert Settings(env="development").allow_private_outbound is True
    assert Settings(env="production").allow_private_outbound is False
    assert Settings(env="production", outbound_allow_private=True).allow_private_outbound


def test_provider_hosts_from_json_are_added_to_the_vendor_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPARO_PROVIDER_HOSTS", '{"gosac": ["api.gosac.example"]}')
    policy = policy_from(Settings(env="production"))
    assert policy.enforce_hosts and not policy.allow_private
    assert policy.provider_hosts["GOSAC"] == ("api.gosac.example",)
    assert "cromosapp.com.br" in policy.provider_hosts["CDA"]


def test_an_unknown_provider_code_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="XPTO"):
        build_registry(Settings(provider_hosts={"XPTO": ["a.example"]}))
