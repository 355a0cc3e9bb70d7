"""A provider's send window in DISPARO_PROVIDER_POLICIES, and the window settings: parsed
with the configured zone and holidays, refused at start-up with the field that is wrong."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from disparo.providers.cda.adapter import CdaProvider
from disparo.providers.policy import policy_for
from disparo.providers.registry import build_registry
from tests.support import clean_settings


def test_a_providers_window_takes_the_default_zone_and_the_holidays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "DISPARO_PROVIDER_POLICIES",
        '{"CDA": {"send_window": {"hours": {"mon-fri": "08:00-20:00"}}}}',
    )
    monkeypatch.setenv("DISPARO_HOLIDAYS", "2026-12-25, 2027-01-01")
    monkeypatch.setenv("DISPARO_SEND_WINDOW_TIMEZONE", "America/Noronha")
    settings = clean_settings()
    build_registry(settings)  # accepted at start-up
    window = policy_for(settings, CdaProvider(batch_size=10, timeout=1, max_attempts=5)).send_window
    assert window is not None
    assert window.zone == "America/Noronha"
    assert window.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert window.hours[0] == ((8 * 60, 20 * 60),) and window.hours[5] == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '{"CDA": {"send_window": {"hours": {"mon": "8-20"}}}}',
            r"provider_policies\[CDA\]\.send_window\.hours\.mon: '8-20' is not 'HH:MM-HH:MM'",
        ),
        (
            '{"CDA": {"send_window": {"timezone": "Sao_Paulo", "hours": {"mon": "08:00-20:00"}}}}',
            r"provider_policies\[CDA\]\.send_window\.timezone: unknown time zone 'Sao_Paulo'",
        ),
        (
            '{"GOSAC:start": {"send_window": {"hours": {"mon": "08:00-20:00"}}}}',
            r"a step has no send window of its own: it obeys GOSAC's",
        ),
    ],
)
def test_a_wrong_window_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("DISPARO_PROVIDER_POLICIES", value)
    with pytest.raises(ValueError, match=message):
        build_registry(clean_settings())


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DISPARO_HOLIDAYS", "2026-25-12", "holidays"),
        ("DISPARO_SEND_WINDOW_TIMEZONE", "Brasil/Brasilia", "unknown time zone 'Brasil/Brasilia'"),
    ],
)
def test_wrong_window_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        clean_settings()
