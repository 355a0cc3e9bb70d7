"""Provider from the agendamento_id prefix and its queue (CONTRACTS 3.1), read from the
registry of provider plugins."""

from __future__ import annotations

import pytest

from disparo.providers.registry import BY_CODE, PLUGINS, SEND_QUEUES, identify_provider

# CONTRACTS 3.1, table verbatim: prefix -> (provider code, queue).
CONTRACT_TABLE: dict[str, tuple[str, str]] = {
    "C": ("CDA", "cda-send"),
    "G": ("GOSAC", "gosac-send"),
    "N": ("NOAH", "noah-send"),
    "R": ("RCS", "rcs-send"),
    "O": ("RCS_OTIMA", "rcs-otima-send"),
    "S": ("SALESFORCE", "salesforce-send"),
    "W": ("WHATSAPP_OTIMA", "whatsapp-otima-send"),
    "F": ("GOSAC_OFICIAL", "gosac-oficial-send"),
    "H": ("NOAH_OFICIAL", "noah-oficial-send"),
    "B": ("ROBBU_OFICIAL", "robbu-oficial-send"),
    "T": ("TECHIA", "techia-send"),
    "M": ("MAKING_OFICIAL", "making-oficial-send"),
}
# "recognised, outside this spec": never served, always refused by name.
OUTSIDE_THE_SPEC = {"GOSAC_OFICIAL", "NOAH_OFICIAL", "ROBBU_OFICIAL", "TECHIA", "MAKING_OFICIAL"}

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
    assert identify_provider(agendamento_id) == code


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


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda plugin: plugin.code)
def test_each_plugin_is_its_contract_row(plugin: object) -> None:
    assert plugin in PLUGINS
    code, queue = CONTRACT_TABLE[BY_CODE[str(plugin.code)].prefix]
    assert (plugin.code, plugin.queue) == (code, queue)


def test_the_providers_outside_the_spec_are_not_served() -> None:
    assert not OUTSIDE_THE_SPEC & set(SEND_QUEUES)
    assert {p.prefix for p in PLUGINS} | {
        prefix for prefix, (code, _) in CONTRACT_TABLE.items() if code in OUTSIDE_THE_SPEC
    } <= set(CONTRACT_TABLE)


def test_prefixes_and_queues_are_unique() -> None:
    assert len({p.prefix for p in PLUGINS}) == len(PLUGINS)
    queues = [p.queue for p in PLUGINS] + [s.queue for p in PLUGINS for s in p.steps]
    assert len(set(queues)) == len(queues)
