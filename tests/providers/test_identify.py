"""Provider from the agendamento_id prefix and its queue (CONTRACTS 3.1)."""

from __future__ import annotations

import pytest

from disparo.providers.base import PREFIXES, PROVIDER_QUEUES, ProviderCode, identify_provider

# CONTRACTS 3.1, table verbatim: prefix -> (provider code, queue or None when out of scope).
CONTRACT_TABLE: dict[str, tuple[str, str | None]] = {
    "C": ("CDA", "cda-send"),
    "G": ("GOSAC", "gosac-send"),
    "N": ("NOAH", "noah-send"),
    "R": ("RCS", "rcs-send"),
    "O": ("RCS_OTIMA", "rcs-otima-send"),
    "S": ("SALESFORCE", "salesforce-send"),
    "W": ("WHATSAPP_OTIMA", None),
    "F": ("GOSAC_OFICIAL", None),
    "H": ("NOAH_OFICIAL", None),
    "B": ("ROBBU_OFICIAL", None),
    "T": ("TECHIA", None),
    "M": ("MAKING_OFICIAL", None),
}

CASES = [
    pytest.param(f"{lead}{case(prefix)}20250115093000{tail}", code, id=f"{prefix}-{label}")
    for prefix, (code, _) in CONTRACT_TABLE.items()
    for case, lead, tail, label in (
        (str.upper, "", "", "upper"),
        (str.lower, "", "", "lower"),
        (str.upper, "  ", "", "leading-spaces"),
        (str.lower, "\t ", "_CampanhaJaneiro", "lower-tab-recurring"),
    )
]


@pytest.mark.parametrize(("agendamento_id", "code"), CASES)
def test_identify_every_prefix(agendamento_id: str, code: str) -> None:
    assert identify_provider(agendamento_id) == ProviderCode(code)


@pytest.mark.parametrize(
    "agendamento_id",
    [
        "",
        "   ",
        "X20250115093000",
        "x20250115093000",
        "A20250115093000",
        "20250115093000",
        "_C20250115093000",
        "Ç20250115093000",
        "ß20250115093000",
    ],
    ids=[
        "empty",
        "blank",
        "gen-c-fallback-X",
        "lower-x",
        "unknown-A",
        "digit-first",
        "underscore-first",
        "non-ascii",
        "sharp-s-uppercases-to-two-letters",
    ],
)
def test_unknown_prefix_is_none(agendamento_id: str) -> None:
    assert identify_provider(agendamento_id) is None


def test_prefix_table_matches_contract() -> None:
    assert {p: str(c) for p, c in PREFIXES.items()} == {
        p: code for p, (code, _) in CONTRACT_TABLE.items()
    }


def test_provider_queues_are_the_six_in_scope_providers() -> None:
    expected = {code: queue for code, queue in CONTRACT_TABLE.values() if queue is not None}
    assert len(expected) == 6
    assert {str(code): str(queue) for code, queue in PROVIDER_QUEUES.items()} == expected
