"""Ótima RCS requests (CONTRACTS 5.5): pure mapping from stored recipients."""

from __future__ import annotations

import json
from typing import Any

import pytest

from disparo.providers.base import Recipient
from disparo.providers.rcs_otima.mapper import (
    MappingError,
    OtimaCampaign,
    build_requests,
    campaign_of,
    customer_code_of,
    extra_fields,
    message_for,
    template_variables,
)

STATUS_URL = "https://disparo.example.com/callbacks/otima/status"
TEMPLATE = OtimaCampaign("template", "broker_exemplo", "modelo_cobranca_v1")


def recipient(
    id: int = 1,
    *,
    phone: str = "5511900000001",
    name: str = "CLIENTE EXEMPLO UM",
    cpf: str = "11111111111",
    carteira: str = "77",
    contrato: str = "500001",
    message: str = "",
    extra: dict[str, Any] | None = None,
) -> Recipient:
    return Recipient(id, phone, name, cpf, carteira, "1001", contrato, message, extra)


def template_row(**fields: Any) -> str:
    return json.dumps({"template_code": "modelo_cobranca_v1", **fields})


# The example request of CONTRACTS 5.5, verbatim.
CONTRACT_EXAMPLE = json.loads(
    """
{
  "broker_code": "broker_exemplo",
  "customer_code": "77",
  "template_code": "modelo_cobranca_v1",
  "messages": [
    {
      "phone": "5511900000001",
      "document": "11111111111",
      "variables": {"-var1-": "CLIENTE EXEMPLO UM", "var1": "CLIENTE EXEMPLO UM"},
      "extra_fields": {
        "nome": "CLIENTE EXEMPLO UM",
        "id_carteira": "77",
        "idcob_contrato": "500001",
        "CPF_PADRAO": "111.111.111-11",
        "CPF_ESPACO": "111 111 111 11",
        "CPF_3_PRIM": "111",
        "CPF_3_ULT": "111"
      },
      "fallback": {"type": "SMS", "message": "Proposta disponível para o seu contrato."},
      "url_callback_status": "https://disparo.example.com/callbacks/otima/status"
    }
  ]
}
"""
)


def test_contract_example_is_reproduced_exactly() -> None:
    message = template_row(
        broker_code="broker_exemplo", fallback="Proposta disponível para o seu contrato."
    )
    first = recipient(message=message)
    campaign = campaign_of(message, first, {}, (STATUS_URL, ""))
    [request] = build_requests(campaign, [first], "")
    assert request.path == "/bulk/message/template"
    # extra_fields also carry the row's own columns; the example shows the fixed ones.
    extra = request.body["messages"][0]["extra_fields"]  # type: ignore[typeddict-item]
    assert {k: extra[k] for k in CONTRACT_EXAMPLE["messages"][0]["extra_fields"]} == (
        CONTRACT_EXAMPLE["messages"][0]["extra_fields"]
    )
    body: dict[str, Any] = json.loads(json.dumps(request.body))
    body["messages"][0]["extra_fields"] = CONTRACT_EXAMPLE["messages"][0]["extra_fields"]
    assert body == CONTRACT_EXAMPLE


CUSTOMER_CASES = [
    # (mensagem, id_carteira, credentials' customer_code) -> customer_code
    (template_row(customer_code="55"), "77", "99", "55"),
    (template_row(), "77", "99", "77"),
    ("texto simples", "77", "99", "77"),
    (template_row(customer_code=""), "", "99", "99"),
    ("texto", "", "", ""),  # none at all: the row is skipped at ingest
    (json.dumps({"customer_code": 12}), "", "", "12"),
]


@pytest.mark.parametrize(("mensagem", "carteira", "default", "expected"), CUSTOMER_CASES)
def test_customer_code_derivation(
    mensagem: str, carteira: str, default: str, expected: str
) -> None:
    assert customer_code_of(mensagem, carteira, default) == expected


def test_requests_are_grouped_by_customer_code_and_chunked_at_1000() -> None:
    rows = [recipient(i, carteira="77" if i % 3 else "78") for i in range(2_500)]
    requests = build_requests(TEMPLATE, rows, "")
    shape = [(r.body["customer_code"], len(r.body["messages"])) for r in requests]
    # 77: 1,666 rows -> 1,000 + 666; 78: 834 rows; nothing dropped, each row once
    assert shape == [("78", 834), ("77", 1000), ("77", 666)]
    ids = sorted(r.id for request in requests for r in request.recipients)
    assert ids == list(range(2_500))
    assert all(len(r.recipients) == len(r.body["messages"]) for r in requests)


def test_rows_without_customer_code_are_left_out() -> None:
    rows = [recipient(1, carteira=""), recipient(2, carteira="77")]
    [request] = build_requests(TEMPLATE, rows, "")
    assert [r.id for r in request.recipients] == [2]
    assert build_requests(TEMPLATE, rows[:1], "") == []
    assert len(build_requests(TEMPLATE, rows[:1], "99")) == 1


VARIABLE_CASES = [
    # (mensagem JSON fields, row variables) -> variables sent
    ({}, None, {"-var1-": "CLIENTE EXEMPLO UM", "var1": "CLIENTE EXEMPLO UM"}),
    ({"variables": {"nome": "FULANO"}}, None, {"-nome-": "FULANO", "nome": "FULANO"}),
    ({"variables": {"-var1-": "X"}}, None, {"-var1-": "X", "var1": "X"}),
    (
        {"variables_map": {"nome": {"type": "field", "value": "nome"}}},
        None,
        {"-nome-": "CLIENTE EXEMPLO UM", "nome": "CLIENTE EXEMPLO UM"},
    ),
    (
        {"variables_map": {"canal": {"type": "text", "value": "RCS"}}},
        None,
        {"-canal-": "RCS", "canal": "RCS"},
    ),
    (
        {"variables_map": {"contrato": {"type": "field", "value": "idcob_contrato"}}},
        None,
        {"-contrato-": "500001", "contrato": "500001"},
    ),
    # a field that is not a column comes from the row's `variables` object (Gen C)
    (
        {"variables_map": {"valor": {"type": "field", "value": "valor_divida"}}},
        {"valor_divida": "R$ 10,00"},
        {"-valor-": "R$ 10,00", "valor": "R$ 10,00"},
    ),
    # a name listed with no value anywhere else is read from the row's variables
    ({"variables": {"vencimento": ""}}, {"vencimento": "10/02"},
     {"-vencimento-": "10/02", "vencimento": "10/02"}),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "row_variables", "expected"), VARIABLE_CASES)
def test_template_variables(
    fields: dict[str, Any], row_variables: dict[str, str] | None, expected: dict[str, str]
) -> None:
    extra = None if row_variables is None else {"variables": row_variables}
    assert template_variables(recipient(extra=extra), fields) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"variables_map": {"valor": {"type": "field", "value": "coluna_inexistente"}}},
        {"variables_map": {"canal": {"type": "text", "value": ""}}},
        {"variables": {"nome": " "}, "variables_map": {}},
    ],
)
def test_an_empty_template_variable_refuses_the_batch(fields: dict[str, Any]) -> None:
    with pytest.raises(MappingError, match="vazia para o telefone 5511900000001"):
        template_variables(recipient(name=""), fields)


@pytest.mark.parametrize(
    ("cpf", "cpf_fields"),
    [
        ("11111111111", {"CPF_PADRAO": "111.111.111-11", "CPF_3_ULT": "111"}),
        ("12345678901", {"CPF_PADRAO": "123.456.789-01", "CPF_ESPACO": "123 456 789 01",
                         "CPF_3_PRIM": "123", "CPF_3_ULT": "901"}),
        ("123.456.789-01", {"CPF_PADRAO": "123.456.789-01"}),
        ("12345678000199", {}),  # a CNPJ: no CPF fields
        ("", {}),
    ],
)  # fmt: skip
def test_extra_fields_cpf_forms(cpf: str, cpf_fields: dict[str, str]) -> None:
    fields = extra_fields(recipient(cpf=cpf))
    assert fields.items() >= cpf_fields.items()
    assert fields["nome"] == "CLIENTE EXEMPLO UM" and fields["id_carteira"] == "77"
    if not cpf_fields:
        assert not any(key.startswith("CPF_") for key in fields)


KIND_CASES = [
    # (first row's mensagem, row media, credentials) -> (kind, path-specific fields)
    (template_row(), None, {}, "template"),
    ("texto", None, {"template_code": "cred_tpl"}, "template"),
    ("texto", None, {}, "text"),
    (json.dumps({"original_message": "oi", "file_url": "https://x.example.com/a.pdf"}), None, {},
     "document"),
    ("texto", "https://cdn.example.com/banner.png", {}, "document"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "media", "credentials", "kind"), KIND_CASES)
def test_message_kind(text: str, media: str | None, credentials: dict[str, str], kind: str) -> None:
    extra = {"midia_campanha": media} if media else None
    assert campaign_of(text, recipient(extra=extra), credentials).kind == kind


def test_text_and_document_messages_have_exactly_the_contract_fields() -> None:
    row = recipient(message='{"original_message": "Olá", "fallback": "sms"}')
    text = message_for(OtimaCampaign("text", "b"), row)
    assert text == {"phone": "5511900000001", "document": "11111111111", "message": "Olá"}
    first = recipient(extra={"midia_campanha": "https://cdn.example.com/b/banner%20x.png"})
    campaign = campaign_of("Veja", first, {})
    assert message_for(campaign, recipient(message="Veja")) == {
        "phone": "5511900000001",
        "document": "11111111111",
        "message": "Veja",
        "file_url": "https://cdn.example.com/b/banner%20x.png",
        "file_type": "image/png",
        "file_name": "banner x.png",
    }
    [request] = build_requests(campaign, [row], "")
    assert request.path == "/bulk/message/document" and "template_code" not in request.body


def test_a_file_type_the_vendor_does_not_take_is_refused() -> None:
    with pytest.raises(MappingError, match="tipo de arquivo"):
        campaign_of(json.dumps({"file_url": "https://x.example.com/a.exe"}), recipient(), {})


FALLBACK_CASES = [
    # mensagem -> the message's own fallback field (None: absent)
    (template_row(), None),
    (template_row(fallback="Curto"), {"type": "SMS", "message": "Curto"}),
    (template_row(fallback={"type": "SMS", "message": "Obj"}), {"type": "SMS", "message": "Obj"}),
    (template_row(fallback="x" * 200), {"type": "SMS", "message": "x" * 160}),
    (template_row(fallback="  "), None),
]


@pytest.mark.parametrize(("mensagem", "fallback"), FALLBACK_CASES)
def test_fallback_field(mensagem: str, fallback: dict[str, str] | None) -> None:
    message = message_for(TEMPLATE, recipient(message=mensagem))
    assert message.get("fallback") == fallback


def test_callback_urls_only_when_configured() -> None:
    plain = message_for(TEMPLATE, recipient())
    assert "url_callback_status" not in plain and "url_callback_mo" not in plain
    both = OtimaCampaign("template", "b", "t", status_callback=STATUS_URL, mo_callback="https://m")
    message = message_for(both, recipient())
    assert message.get("url_callback_status") == STATUS_URL
    assert message.get("url_callback_mo") == "https://m"


def test_broker_and_template_codes_come_from_the_first_row_then_credentials() -> None:
    credentials = {"broker_code": "cred_broker", "template_code": "cred_tpl"}
    from_row = campaign_of(template_row(broker_code="row_broker"), recipient(), credentials)
    assert (from_row.broker_code, from_row.template_code) == ("row_broker", "modelo_cobranca_v1")
    from_credentials = campaign_of("texto", recipient(), credentials)
    assert (from_credentials.broker_code, from_credentials.template_code) == (
        "cred_broker",
        "cred_tpl",
    )
