"""CromosApp RCS import body (CONTRACTS 5.4): pure mapping from stored recipients."""

from __future__ import annotations

import json
from typing import Any

import pytest

from disparo.providers.base import Recipient
from disparo.providers.rcs.mapper import build_import, cpf_digits, line_for, media_of

NOW_MS = 1736944200000
KEY = "chave-exemplo-rcs"
TEXT = "Olá! Veja a proposta para o seu contrato."
MEDIA = "https://cdn.example.com/banner.png"


def recipient(
    id: int,
    phone: str,
    name: str,
    contrato: str,
    cpf: str,
    *,
    message: str = TEXT,
    extra: dict[str, Any] | None = None,
) -> Recipient:
    return Recipient(id, phone, name, cpf, "77", "1001", contrato, message, extra)


UM = recipient(1, "5511900000001", "CLIENTE EXEMPLO UM", "500001", "11111111111")
DOIS = recipient(2, "5521900000002", "CLIENTE EXEMPLO DOIS", "500002", "22222222222")

# The example body of CONTRACTS 5.4, verbatim.
CONTRACT_EXAMPLE = json.loads(
    """
{
  "chave_api": "chave-exemplo-rcs",
  "codigo_equipe": "1001",
  "codigo_usuario": "1",
  "nome": "campanha_1001_1736944200000",
  "ativo": true,
  "corpo_mensagem": "Olá! Veja a proposta para o seu contrato.",
  "midia_campanha": "https://cdn.example.com/banner.png",
  "mensagens": [
    "1;5511900000001;CLIENTE EXEMPLO UM;500001;11111111111",
    "1;5521900000002;CLIENTE EXEMPLO DOIS;500002;22222222222"
  ]
}
"""
)


def test_contract_example_is_reproduced_exactly() -> None:
    body = build_import(KEY, "1001", [UM, DOIS], NOW_MS, TEXT, {"midia_campanha": MEDIA})
    assert body == CONTRACT_EXAMPLE


LINE_CASES = [
    # (name, contrato, cpf as stored) -> line: always five positional fields, leading 1
    (("CLIENTE EXEMPLO UM", "500001", "11111111111"),
     "1;5511900000001;CLIENTE EXEMPLO UM;500001;11111111111"),
    # empty contract id: kept as an empty column, never dropped (decision 16)
    (("CLIENTE EXEMPLO UM", "", "11111111111"), "1;5511900000001;CLIENTE EXEMPLO UM;;11111111111"),
    # empty CPF: empty last column
    (("CLIENTE EXEMPLO UM", "500001", ""), "1;5511900000001;CLIENTE EXEMPLO UM;500001;"),
    # empty name and everything else
    (("", "", ""), "1;5511900000001;;;"),
    # CPF with punctuation: `.` and `-` removed
    (("X", "1", "111.111.111-11"), "1;5511900000001;X;1;11111111111"),
    # `;`, CR, LF inside values would break the positional format
    (("NOME; COM\nQUEBRA\r", "5;0", "1"), "1;5511900000001;NOME  COM QUEBRA ;5 0;1"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "line"), LINE_CASES)
def test_line_format(fields: tuple[str, str, str], line: str) -> None:
    name, contrato, cpf = fields
    assert line_for(recipient(1, "5511900000001", name, contrato, cpf)) == line


@pytest.mark.parametrize(
    ("cpf", "digits"),
    [("11111111111", "11111111111"), ("111.111.111-11", "11111111111"), ("", "")],
)
def test_cpf_digits(cpf: str, digits: str) -> None:
    assert cpf_digits(cpf) == digits


MEDIA_CASES = [
    # (first row's midia_campanha, credentials' value) -> body value (None: key absent)
    (MEDIA, "", MEDIA),
    (MEDIA, "https://cdn.example.com/other.jpg", MEDIA),  # the row wins (Gen C)
    ("", "https://cdn.example.com/other.jpg", "https://cdn.example.com/other.jpg"),
    (None, "", None),
    ("   ", "", None),
]


@pytest.mark.parametrize(("row_media", "credential_media", "expected"), MEDIA_CASES)
def test_media_only_when_present(
    row_media: str | None, credential_media: str, expected: str | None
) -> None:
    extra = None if row_media is None else {"midia_campanha": row_media}
    first = recipient(1, "5511900000001", "A", "1", "1", extra=extra)
    body = build_import(KEY, "1001", [first], NOW_MS, TEXT, {"midia_campanha": credential_media})
    assert body.get("midia_campanha") == expected
    assert media_of([first], credential_media) == (expected or "")


def test_optional_credential_keys_are_added_only_with_a_value() -> None:
    options = {
        "tag_numero_contrato": "1",
        "tag_codigo_externo_mensagem": "",
        "tag_cpf": "1",
        "tag_boleto": " ",
        "dthr_agendado": "2025-01-15 12:00:00",
        "codigo_externo": "ref-1",
        "something_else": "ignored",
    }
    body = build_import(KEY, "1001", [UM], NOW_MS, TEXT, options)
    optional = set(body) - set(CONTRACT_EXAMPLE)
    assert optional == {"tag_numero_contrato", "tag_cpf", "dthr_agendado", "codigo_externo"}
    assert body["dthr_agendado"] == "2025-01-15 12:00:00" and body["codigo_externo"] == "ref-1"
    assert "midia_campanha" not in body


@pytest.mark.parametrize(
    ("text", "corpo"),
    [
        (TEXT, TEXT),
        # Gen C wrapper (2.1.1): the original_message is sent
        ('{"original_message": "Texto real", "tracking_data": {}}', "Texto real"),
        ('{"not_original": 1}', '{"not_original": 1}'),
    ],
)
def test_corpo_mensagem_is_the_campaign_text(text: str, corpo: str) -> None:
    assert build_import(KEY, "1001", [UM], NOW_MS, text, {})["corpo_mensagem"] == corpo
