"""CDA import body (CONTRACTS 5.1): pure mapping from stored recipients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from disparo.providers.base import BatchRequest, Recipient
from disparo.providers.cda.adapter import CdaCredentials, CdaProvider
from disparo.providers.cda.mapper import (
    StreamedImport,
    build_import,
    clean_field,
    import_head,
    line_for,
)

NOW_MS = 1736944200000
KEY = "chave-exemplo-cda"
PLAIN = "Olá, temos uma proposta para o seu contrato."

UM = Recipient(
    id=1,
    phone="5511900000001",
    name="CLIENTE EXEMPLO UM",
    cpf_cnpj="11111111111",
    id_carteira="77",
    idgis_ambiente="1001",
    idcob_contrato="500001",
    message=PLAIN,
)
DOIS = Recipient(
    id=2,
    phone="5521900000002",
    name="CLIENTE EXEMPLO DOIS",
    cpf_cnpj="22222222222",
    id_carteira="77",
    idgis_ambiente="1001",
    idcob_contrato="500002",
    message=PLAIN,
)

# The example body of CONTRACTS 5.1, verbatim.
CONTRACT_EXAMPLE = json.loads(
    """
{
  "chave_api": "chave-exemplo-cda",
  "codigo_equipe": "1001",
  "codigo_usuario": "1",
  "nome": "campanha_1001_1736944200000",
  "ativo": true,
  "corpo_mensagem": "Olá, temos uma proposta para o seu contrato.",
  "mensagens": [
    "1001;5511900000001;CLIENTE EXEMPLO UM;11111111111;11",
    "1001;5521900000002;CLIENTE EXEMPLO DOIS;22222222222;22"
  ]
}
"""
)


def test_contract_example_body_is_reproduced_exactly() -> None:
    body = build_import(KEY, "1001", [UM, DOIS], now_ms=NOW_MS)
    assert dict(body) == CONTRACT_EXAMPLE
    # Same key order as the contract too (JSON consumers should not care, but cheap to keep).
    assert list(body) == list(CONTRACT_EXAMPLE)
    assert body["ativo"] is True
    assert body["codigo_usuario"] == "1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CLIENTE EXEMPLO", "CLIENTE EXEMPLO"),
        ("", ""),
        ("A;B", "A B"),
        ("A\rB", "A B"),
        ("A\nB", "A B"),
        ("A\r\nB", "A  B"),
        (";;", "  "),
        ('João; "Zé"\n', 'João  "Zé" '),
        ("tab\tstays", "tab\tstays"),
        ("vírgula,ok", "vírgula,ok"),
    ],
    ids=[
        "plain",
        "empty",
        "semicolon",
        "cr",
        "lf",
        "crlf-two-spaces",
        "only-separators",
        "mixed-unicode",
        "tab-untouched",
        "comma-untouched",
    ],
)
def test_clean_field(value: str, expected: str) -> None:
    assert clean_field(value) == expected


@pytest.mark.parametrize(
    ("idgis", "carteira", "codigo_equipe", "equipe"),
    [
        ("1001", "77", "9999", "1001"),
        ("", "77", "9999", "77"),
        ("0", "77", "9999", "77"),
        ("", "", "9999", "9999"),
        ("0", "0", "9999", "9999"),
        ("0", "", "9999", "9999"),
        ("2002", "", "9999", "2002"),
    ],
    ids=[
        "idgis",
        "empty-idgis-carteira",
        "zero-idgis-carteira",
        "both-empty-codigo",
        "both-zero-codigo",
        "zero-and-empty-codigo",
        "idgis-without-carteira",
    ],
)
def test_line_equipe_fallback(idgis: str, carteira: str, codigo_equipe: str, equipe: str) -> None:
    recipient = UM._replace(idgis_ambiente=idgis, id_carteira=carteira)
    assert line_for(recipient, codigo_equipe) == (
        f"{equipe};5511900000001;CLIENTE EXEMPLO UM;11111111111;11"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "1001;5511900000001;CLIENTE EXEMPLO UM;11111111111;11"),
        ({"cpf_cnpj": ""}, "1001;5511900000001;CLIENTE EXEMPLO UM;;"),
        ({"name": ""}, "1001;5511900000001;;11111111111;11"),
        ({"name": "", "cpf_cnpj": ""}, "1001;5511900000001;;;"),
        ({"cpf_cnpj": "7"}, "1001;5511900000001;CLIENTE EXEMPLO UM;7;7"),
        (
            {"cpf_cnpj": "12345678000199"},
            "1001;5511900000001;CLIENTE EXEMPLO UM;12345678000199;99",
        ),
        ({"name": "SILVA; JOSÉ"}, "1001;5511900000001;SILVA  JOSÉ;11111111111;11"),
        ({"name": "LINHA\nDUAS\r"}, "1001;5511900000001;LINHA DUAS ;11111111111;11"),
        ({"cpf_cnpj": "111;22\n"}, "1001;5511900000001;CLIENTE EXEMPLO UM;111 22 ;2 "),
        ({"idgis_ambiente": "10;01"}, "10 01;5511900000001;CLIENTE EXEMPLO UM;11111111111;11"),
        ({"phone": "55119\r\n0000"}, "1001;55119  0000;CLIENTE EXEMPLO UM;11111111111;11"),
    ],
    ids=[
        "plain",
        "empty-cpf",
        "empty-name",
        "empty-name-and-cpf",
        "one-char-cpf",
        "cnpj",
        "semicolon-in-name",
        "crlf-in-name",
        "separators-in-cpf",
        "semicolon-in-equipe",
        "crlf-in-phone",
    ],
)
def test_line_for(changes: dict[str, Any], expected: str) -> None:
    line = line_for(UM._replace(**changes), "1001")
    assert line == expected
    assert line.count(";") == 4
    assert "\r" not in line and "\n" not in line


def test_phone_already_with_55_is_never_doubled() -> None:
    body = build_import(KEY, "1001", [UM, DOIS], now_ms=NOW_MS)
    phones = [line.split(";")[1] for line in body["mensagens"]]
    assert phones == ["5511900000001", "5521900000002"]
    assert not any(p.startswith("5555") for p in phones)


@pytest.mark.parametrize(
    ("codigo_equipe", "now_ms", "nome"),
    [
        ("1001", NOW_MS, "campanha_1001_1736944200000"),
        ("77", 0, "campanha_77_0"),
        ("2002", 1, "campanha_2002_1"),
    ],
    ids=["contract", "carteira-zero-ms", "other"],
)
def test_nome(codigo_equipe: str, now_ms: int, nome: str) -> None:
    body = build_import(KEY, codigo_equipe, [UM], now_ms=now_ms)
    assert body["nome"] == nome
    assert body["codigo_equipe"] == codigo_equipe


WRAPPED = json.dumps(
    {
        "original_message": "Texto desembrulhado",
        "tracking_data": {"idcob_contrato": "500001", "extra_1": None, "is_bait": True},
    },
    ensure_ascii=False,
)
TEMPLATE = json.dumps(
    {"template_code": "modelo", "template_source": "otima_rcs", "variables": {}},
)


@pytest.mark.parametrize(
    ("first_message", "corpo"),
    [
        (PLAIN, PLAIN),
        (WRAPPED, "Texto desembrulhado"),
        ("  " + WRAPPED, "Texto desembrulhado"),
        ('{"original_message": ""}', ""),
        (TEMPLATE, TEMPLATE),
        ('{"original_message": 42}', '{"original_message": 42}'),
        ('{"original_message": null}', '{"original_message": null}'),
        ('["original_message"]', '["original_message"]'),
        ('{"original_message": "sem fim"', '{"original_message": "sem fim"'),
        ("{nome}, olá", "{nome}, olá"),
        ("", ""),
    ],
    ids=[
        "plain",
        "gen-c-wrapper",
        "wrapper-leading-space",
        "wrapper-empty-string",
        "other-json-unchanged",
        "non-string-original-unchanged",
        "null-original-unchanged",
        "json-array-unchanged",
        "invalid-json-unchanged",
        "brace-text-unchanged",
        "empty",
    ],
)
def test_corpo_mensagem_from_first_recipient(first_message: str, corpo: str) -> None:
    first = UM._replace(message=first_message)
    second = DOIS._replace(message="Mensagem do segundo, ignorada")
    body = build_import(KEY, "1001", [first, second], now_ms=NOW_MS)
    assert body["corpo_mensagem"] == corpo


def test_no_recipients_gives_empty_body_and_lines() -> None:
    body = build_import(KEY, "1001", [], now_ms=NOW_MS)
    assert body["corpo_mensagem"] == ""
    assert body["mensagens"] == []


def test_lines_keep_recipient_order_and_per_row_equipe() -> None:
    other_env = DOIS._replace(idgis_ambiente="0", id_carteira="88")
    body = build_import(KEY, "1001", [UM, other_env], now_ms=NOW_MS)
    assert body["mensagens"] == [
        "1001;5511900000001;CLIENTE EXEMPLO UM;11111111111;11",
        "88;5521900000002;CLIENTE EXEMPLO DOIS;22222222222;22",
    ]


async def _chunks(*chunks: list[Recipient]) -> AsyncIterator[list[Recipient]]:
    for chunk in chunks:
        yield chunk


ODD = UM._replace(id=3, name='ASPAS "DUPLAS" E \\ BARRA; PONTO\nE VÍRGULA', cpf_cnpj="")


@pytest.mark.parametrize(
    ("chunks", "campaign_text"),
    [
        ([[UM, DOIS], [ODD]], PLAIN),
        ([[UM], [], [DOIS, ODD], []], ""),  # no campaign text: the first row's, as build_import
        ([[]], PLAIN),
        ([], PLAIN),
    ],
)
async def test_the_streamed_body_is_byte_for_byte_the_built_one(
    chunks: list[list[Recipient]], campaign_text: str
) -> None:
    """A batch read a chunk at a time (EncodesStreamed) sends exactly the bytes build_import
    would have: same keys in the same order, same lines, same escapes."""
    recipients = [r for chunk in chunks for r in chunk]
    built = orjson.dumps(build_import(KEY, "1001", recipients, NOW_MS, campaign_text or None))
    text = campaign_text or (recipients[0].message if recipients else "")
    streamed = StreamedImport(import_head(KEY, "1001", NOW_MS, text), "1001")
    for chunk in chunks:
        streamed.add(chunk)
    assert streamed.finish() == built


async def test_the_adapter_encodes_what_send_would_post() -> None:
    provider = CdaProvider(batch_size=100_000, timeout=30.0, max_attempts=3)
    credentials = CdaCredentials("http://cda.invalid/import", KEY)
    batch = BatchRequest("C1", "1001", 0, (), campaign_text=PLAIN)
    body = await provider.encode_body(credentials, batch, _chunks([UM], [DOIS, ODD]))
    decoded = orjson.loads(body)
    now_ms = int(decoded["nome"].rsplit("_", 1)[1])  # campanha_{equipe}_{ms}
    assert body == orjson.dumps(build_import(KEY, "1001", [UM, DOIS, ODD], now_ms, PLAIN))
