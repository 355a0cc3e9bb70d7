"""Ótima WhatsApp HSM requests (CONTRACTS 5.7): pure mapping from stored recipients, as a
table of (input, expected) cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from disparo.providers.base import Recipient
from disparo.providers.whatsapp_otima.mapper import (
    BrokerCodeError,
    HsmCampaign,
    MappingError,
    build_body,
    campaign_of,
    extra_fields,
    national_number,
    variables_for,
)

BROKER = "5511999990000"
CREDENTIALS = {"broker_code": BROKER, "customer_code": "77", "template_code": ""}
VARIABLES_MAP = {
    "nome": {"type": "field", "value": "nome"},
    "contrato": {"type": "field", "value": "idcob_contrato"},
    "empresa": {"type": "text", "value": "Empresa Exemplo"},
}


def recipient(
    *,
    phone: str = "5511900000001",
    name: str = "CLIENTE EXEMPLO UM",
    cpf: str = "111.111.111-11",
    carteira: str = "77",
    env: str = "1001",
    contrato: str = "500001",
    message: str = "",
    extra: dict[str, Any] | None = None,
) -> Recipient:
    return Recipient(1, phone, name, cpf, carteira, env, contrato, message, extra)


def mensagem(**fields: Any) -> str:
    return json.dumps({"template_code": "modelo_v1", **fields})


@pytest.mark.parametrize(
    ("telefone", "expected"),
    [
        ("5511900000001", "11900000001"),  # 13 digits with 55: the country code goes
        ("551133334444", "1133334444"),  # 12 digits (landline) with 55
        ("+55 (11) 90000-0001", "11900000001"),
        ("11900000001", "11900000001"),  # already national
        ("55912345678", "55912345678"),  # 11 digits: DDD 55, not the country code
        ("5555912345678", "55912345678"),  # country code + DDD 55
    ],
)
def test_the_recipient_is_the_national_number(telefone: str, expected: str) -> None:
    assert national_number(telefone) == expected


@pytest.mark.parametrize(
    ("first_text", "credentials", "expected"),
    [
        (
            mensagem(broker_code="55 11 98888-7777", customer_code="90"),
            CREDENTIALS,
            HsmCampaign("modelo_v1", "5511988887777", "90"),
        ),
        (mensagem(), CREDENTIALS, HsmCampaign("modelo_v1", BROKER, "77")),
        ("texto livre", CREDENTIALS | {"template_code": "do_cadastro"}, None),
        (
            mensagem(variables_map=VARIABLES_MAP),
            CREDENTIALS,
            HsmCampaign("modelo_v1", BROKER, "77", VARIABLES_MAP),
        ),
    ],
    ids=["from-the-message", "codes-from-credentials", "template-from-credentials", "map"],
)
def test_the_campaign_codes(
    first_text: str, credentials: dict[str, str], expected: HsmCampaign | None
) -> None:
    campaign = campaign_of(first_text, credentials)
    if expected is None:
        expected = HsmCampaign("do_cadastro", BROKER, "77")
    assert campaign == expected


@pytest.mark.parametrize(
    ("first_text", "credentials", "error", "match"),
    [
        ("texto livre", CREDENTIALS, MappingError, "template_code ausente"),
        (mensagem(), CREDENTIALS | {"broker_code": ""}, BrokerCodeError, "broker_code"),
        (mensagem(broker_code="123456789"), CREDENTIALS, BrokerCodeError, "10 dígitos"),
    ],
    ids=["no-template-at-all", "no-broker", "broker-too-short"],
)
def test_campaigns_that_cannot_be_sent(
    first_text: str, credentials: dict[str, str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        campaign_of(first_text, credentials)


MAPPED = HsmCampaign("modelo_v1", BROKER, "77", VARIABLES_MAP)
PLAIN = HsmCampaign("modelo_v1", BROKER, "77")


@pytest.mark.parametrize(
    ("campaign", "row", "expected"),
    [
        (
            MAPPED,
            recipient(),
            {"nome": "CLIENTE EXEMPLO UM", "contrato": "500001", "empresa": "Empresa Exemplo"},
        ),
        (  # the row's mensagem.variables come before its columns
            MAPPED,
            recipient(message=mensagem(variables={"nome": "Sr. Um"})),
            {"nome": "Sr. Um", "contrato": "500001", "empresa": "Empresa Exemplo"},
        ),
        (  # then the row's own `variables`
            MAPPED,
            recipient(extra={"variables": {"idcob_contrato": "X-9"}}),
            {"nome": "CLIENTE EXEMPLO UM", "contrato": "X-9", "empresa": "Empresa Exemplo"},
        ),
        (  # no map: the row's mensagem.variables, as given
            PLAIN,
            recipient(message=mensagem(variables={"valor": "R$ 10,00", "dia": 5})),
            {"valor": "R$ 10,00", "dia": "5"},
        ),
        (PLAIN, recipient(), {"nome": "CLIENTE EXEMPLO UM"}),  # nothing at all
    ],
    ids=["map", "map-message-variables-first", "map-row-variables", "message-variables", "nome"],
)
def test_template_variables(
    campaign: HsmCampaign, row: Recipient, expected: dict[str, str]
) -> None:
    assert variables_for(campaign, row) == expected


def test_an_empty_mapped_variable_refuses_the_batch() -> None:
    with pytest.raises(MappingError, match=r"'contrato'.*5511900000001"):
        variables_for(MAPPED, recipient(contrato=""))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            recipient(),
            {
                "nome": "CLIENTE EXEMPLO UM",
                "id_carteira": "77",
                "idcob_contrato": "500001",
                "CPF_PADRAO": "111.111.111-11",
                "CPF_ESPACO": "111 111 111 11",
                "CPF_3_PRIM": "111",
                "CPF_3_ULT": "111",
            },
        ),
        (  # a CNPJ gets no CPF helpers; no carteira: the environment
            recipient(cpf="12.345.678/0001-90", carteira=""),
            {"nome": "CLIENTE EXEMPLO UM", "id_carteira": "1001", "idcob_contrato": "500001"},
        ),
    ],
    ids=["cpf", "cnpj-without-carteira"],
)
def test_extra_fields(row: Recipient, expected: dict[str, str]) -> None:
    assert extra_fields(row) == expected


def test_the_whole_request() -> None:
    rows = [
        recipient(extra={"data_cadastro": "2025-01-15 09:30:00"}),
        recipient(phone="5521900000002", name="CLIENTE EXEMPLO DOIS", cpf="22222222222"),
    ]
    body = build_body(MAPPED, rows)
    assert body == {
        "broker_code": BROKER,
        "customer_code": "77",
        "template_code": "modelo_v1",
        "messages": [
            {
                "whatsapp": "11900000001",
                "document": "11111111111",
                "variables": {
                    "nome": "CLIENTE EXEMPLO UM",
                    "contrato": "500001",
                    "empresa": "Empresa Exemplo",
                },
                "extra_fields": extra_fields(rows[0]),
                "date": "2025-01-15 09:30:00",
            },
            {
                "whatsapp": "21900000002",
                "document": "22222222222",
                "variables": {
                    "nome": "CLIENTE EXEMPLO DOIS",
                    "contrato": "500001",
                    "empresa": "Empresa Exemplo",
                },
                "extra_fields": extra_fields(rows[1]),
            },
        ],
    }
    with_phone = build_body(MAPPED, rows[:1], with_phone=True)["messages"][0]
    assert with_phone.get("phone") == with_phone["whatsapp"] == "11900000001"
