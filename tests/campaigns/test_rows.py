"""Pure row checks (CONTRACTS 2.1, 3.2, 5 common rules): phones, env id, skip reasons."""

from __future__ import annotations

from typing import Any

import pytest

from disparo.campaigns.rows import check_phone, env_id_of, extra_of, normalize_phone, text

# ------------------------------------------------------------------ normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5511900000001", "5511900000001"),
        ("551133334444", "551133334444"),
        ("(11) 90000-0001", "5511900000001"),
        ("+55 (11) 90000-0001", "5511900000001"),
        ("55 11 90000.0001", "5511900000001"),
        (" 5511900000001 ", "5511900000001"),
        ("5511900000001\n", "5511900000001"),
        ("11900000001", "5511900000001"),
        ("1133334444", "551133334444"),
        ("21 3333-4444", "552133334444"),
        (5511900000001, "5511900000001"),
        (11900000001, "5511900000001"),
    ],
    ids=[
        "13-digits-with-55",
        "12-digits-with-55",
        "formatted-without-55",
        "formatted-with-plus-55",
        "dots-and-spaces",
        "padded",
        "trailing-newline",
        "11-digits-gets-55",
        "10-digits-gets-55",
        "formatted-landline",
        "int-with-55",
        "int-without-55",
    ],
)
def test_normalize_phone_valid(raw: object, expected: str) -> None:
    assert normalize_phone(raw) == expected
    # Idempotent: a normalised number is never prefixed again (no double 55).
    assert normalize_phone(expected) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "5501900000001",
        "550133334444",
        "0119000000",
        "",
        "   ",
        "()-",
        "55119000000O1",
        "abc",
        "5511900000001x",
        "123",
        "551190000",
        "55119000000012",
        "555511900000001",
        "119000000012",
        None,
        1.5,
        ["5511900000001"],
        b"5511900000001",
        True,
    ],
    ids=[
        "55-then-ddd-0-mobile",
        "55-then-ddd-0-landline",
        "ddd-0-gets-55-then-invalid",
        "empty",
        "blank",
        "only-noise",
        "letter-O-for-zero",
        "letters",
        "trailing-letter",
        "too-short",
        "9-digits-with-55",
        "14-digits",
        "double-55-15-digits",
        "12-digits-without-55",
        "none",
        "float",
        "list",
        "bytes",
        "bool",
    ],
)
def test_normalize_phone_invalid(raw: object) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    "raw",
    ["11\uff1900000001", "5511\uff1900000001", "55119000000\u0660\u0661"],
    ids=["fullwidth-9-no-55", "fullwidth-9-with-55", "arabic-indic"],
)
def test_normalize_phone_rejects_non_ascii_digits(raw: str) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("55912345678", "5555912345678"), ("5532223333", "555532223333")],
    ids=["ddd55-mobile", "ddd55-landline"],
)
def test_normalize_phone_ddd_55_without_country_code(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


# ------------------------------------------------------------------ env_id_of


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"idgis_ambiente": "1001", "id_carteira": "77"}, "1001"),
        ({"idgis_ambiente": "0", "id_carteira": "77"}, "77"),
        ({"idgis_ambiente": "", "id_carteira": "77"}, "77"),
        ({"idgis_ambiente": " 0 ", "id_carteira": "77"}, "77"),
        ({"idgis_ambiente": None, "id_carteira": "77"}, "77"),
        ({"id_carteira": "77"}, "77"),
        ({"idgis_ambiente": " 1001 ", "id_carteira": "77"}, "1001"),
        ({"idgis_ambiente": 1001, "id_carteira": 77}, "1001"),
        ({"idgis_ambiente": "1001"}, "1001"),
        ({"idgis_ambiente": "0", "id_carteira": ""}, ""),
        ({"idgis_ambiente": "", "id_carteira": ""}, ""),
        ({}, ""),
    ],
    ids=[
        "idgis",
        "zero-falls-back",
        "empty-falls-back",
        "padded-zero-falls-back",
        "null-falls-back",
        "gen-b-no-idgis",
        "idgis-trimmed",
        "int-values",
        "idgis-without-carteira",
        "zero-and-empty",
        "both-empty",
        "neither",
    ],
)
def test_env_id_of(row: dict[str, Any], expected: str) -> None:
    assert env_id_of(row) == expected


# ------------------------------------------------------------------ check_phone


@pytest.mark.parametrize(
    ("telefone", "phone", "reason"),
    [
        ("5511900000001", "5511900000001", None),
        ("(11) 90000-0001", "5511900000001", None),
        (5511900000001, "5511900000001", None),
        ("", "", "telefone ausente"),
        ("   ", "", "telefone ausente"),
        (None, "", "telefone ausente"),
        ("abc", "abc", "telefone inválido"),
        ("5501900000001", "5501900000001", "telefone inválido"),
        ("123", "123", "telefone inválido"),
    ],
    ids=[
        "valid",
        "formatted-valid",
        "int-valid",
        "empty",
        "blank",
        "null",
        "letters",
        "ddd-zero",
        "too-short",
    ],
)
def test_check_phone_single_row(telefone: object, phone: str, reason: str | None) -> None:
    checked = check_phone({"telefone": telefone, "nome": "CLIENTE EXEMPLO UM"})
    assert checked.phone == phone
    if reason is None or reason == "telefone ausente":
        assert checked.skip_reason == reason
    else:
        assert checked.skip_reason is not None
        assert checked.skip_reason.startswith(reason)


def test_check_phone_missing_phone_field() -> None:
    assert check_phone({"nome": "SEM TELEFONE"}).skip_reason == "telefone ausente"


def test_check_phone_invalid_reason_quotes_and_bounds_the_value() -> None:
    raw = "x" * 100
    checked = check_phone({"telefone": raw})
    assert checked.skip_reason is not None
    assert checked.skip_reason.startswith("telefone inválido")
    assert "x" * 40 in checked.skip_reason
    assert "x" * 41 not in checked.skip_reason
    assert len(checked.phone) <= 32


# ------------------------------------------------------------------ extra_of


GEN_C_VARIABLES = {"nome": "CLIENTE EXEMPLO UM", "telefone": "5511900000001"}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"telefone": "5511900000001", "nome": "X", "mensagem": "m", "data_cadastro": "d"},
            {"data_cadastro": "d"},  # NOAH's import carries it (5.3)
        ),
        (
            {
                "id": "101",
                "agendamento_id": "C20250115093000",
                "telefone": "5511900000001",
                "carteira_nome": "CARTEIRA EXEMPLO",
                "nome_campanha": "Campanha Janeiro",
                "midia_campanha": "",
                "broker_code": "",
                "variables": GEN_C_VARIABLES,
            },
            {
                "id": "101",
                "carteira_nome": "CARTEIRA EXEMPLO",
                "nome_campanha": "Campanha Janeiro",
                "variables": GEN_C_VARIABLES,
            },
        ),
        (
            {"midia_campanha": "https://cdn.example.com/a.png", "broker_code": "canal-1"},
            {"midia_campanha": "https://cdn.example.com/a.png", "broker_code": "canal-1"},
        ),
        ({"variables": {}, "id": None, "broker_code": ""}, None),
        ({"id": "0"}, {"id": "0"}),
        ({"unknown": "kept out", "nome": "X"}, None),
    ],
    ids=[
        "gen-b-row",
        "gen-c-row",
        "media-and-broker",
        "all-empty",
        "zero-string-kept",
        "unknown-fields-ignored",
    ],
)
def test_extra_of(row: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert extra_of(row) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("com\x00nul", "comnul"),
        ("acentuação", "acentuação"),
        ("quebrado \ud800 aqui", "quebrado ? aqui"),
        ("nul\x00 e ç", "nul e ç"),
        (77, "77"),
        (None, ""),
    ],
    ids=["ascii", "nul", "accents", "lone-surrogate", "nul-and-accent", "int", "none"],
)
def test_text_gives_what_the_database_accepts(value: object, expected: str) -> None:
    assert text({"f": value}, "f") == expected
