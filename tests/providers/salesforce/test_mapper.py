"""Salesforce mapper: cases from CONTRACTS.md 5.6."""

from __future__ import annotations

from typing import Any

import pytest

from disparo.providers.base import Recipient
from disparo.providers.salesforce.mapper import (
    NO_RESULT,
    already_running,
    automations_url,
    build_collections,
    collections_url,
    contact_record,
    rate_limit_wait,
    record_failures,
)

UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001", "Olá"
)  # fmt: skip
DOIS = UM._replace(id=2, phone="5521900000002", name="CLIENTE EXEMPLO DOIS")

CONTRACT_BODY: dict[str, Any] = {
    "allOrNone": False,
    "records": [
        {
            "attributes": {"type": "Contact"},
            "MobilePhone": "5511900000001",
            "LastName": "CLIENTE EXEMPLO UM",
            "CPF_CNPJ__c": "11111111111",
            "Operacao__c": "OPERACAO_EXEMPLO",
            "disparo__c": True,
        }
    ],
}


def test_the_contract_example_body() -> None:
    assert build_collections([UM], "OPERACAO_EXEMPLO") == CONTRACT_BODY


@pytest.mark.parametrize(
    ("name", "cpf", "placeholder", "last_name", "cpf_field"),
    [
        ("CLIENTE", "11111111111", "", "CLIENTE", "11111111111"),
        ("", "11111111111", "", "Contato", "11111111111"),  # LastName is required
        ("  ", "", "", "Contato", ""),  # decision 7.7: "" by default
        ("X", "", "00000000000", "X", "00000000000"),  # optional placeholder
    ],
)
def test_last_name_and_cpf(
    name: str, cpf: str, placeholder: str, last_name: str, cpf_field: str
) -> None:
    record = contact_record(UM._replace(name=name, cpf_cnpj=cpf), "OP", placeholder)
    assert (record["LastName"], record["CPF_CNPJ__c"]) == (last_name, cpf_field)


def test_more_than_200_records_is_refused() -> None:
    many = [UM._replace(id=i) for i in range(201)]
    with pytest.raises(ValueError, match="200"):
        build_collections(many, "OP")
    assert len(build_collections(many[:200], "OP")["records"]) == 200


@pytest.mark.parametrize(
    ("api_url", "instance_url", "expected"),
    [
        (
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects",
            "https://OUTRA.my.salesforce.com",
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects",
        ),
        (
            "",
            "https://EXEMPLO.my.salesforce.com",
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects",
        ),
        (
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects/",
            "",
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects",
        ),
        (
            "https://api.example.com",
            "https://EXEMPLO.my.salesforce.com/",
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects",
        ),
    ],
)
def test_collections_url(api_url: str, instance_url: str, expected: str) -> None:
    assert collections_url(api_url, instance_url, "59.0") == expected


def test_the_contract_result_array() -> None:
    results = [
        {"id": "003000000000001AAA", "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [LastName]",
                    "fields": ["LastName"],
                }
            ],
        },
    ]
    assert record_failures(results, [UM, DOIS]) == {
        2: "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]"
    }


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([{"success": True}, {"success": True}], {}),
        ([{"success": True}], {2: NO_RESULT}),  # shorter than the request
        ([{"success": "true"}, {"success": True}], {1: NO_RESULT}),  # only the boolean counts
        (
            [{"success": False, "errors": [{"message": "só mensagem"}]}, {"success": True}],
            {1: "só mensagem"},
        ),
        ({"hasErrors": False, "results": []}, None),  # not the per-record array
        (None, None),
    ],
)
def test_record_failures(results: Any, expected: dict[int, str] | None) -> None:
    assert record_failures(results, [UM, DOIS]) == expected


@pytest.mark.parametrize(
    ("api_url", "rest_instance_url", "expected"),
    [
        (
            "https://SUB.rest.marketingcloudapis.com/automation/v1/automations",
            "",
            "https://SUB.rest.marketingcloudapis.com/automation/v1/automations",
        ),
        (
            "https://SUB.rest.marketingcloudapis.com/",
            "",
            "https://SUB.rest.marketingcloudapis.com/automation/v1/automations",
        ),
        (
            "",
            "https://SUB.rest.marketingcloudapis.com/",
            "https://SUB.rest.marketingcloudapis.com/automation/v1/automations",
        ),
        (  # never the Core collections URL
            "https://EXEMPLO.my.salesforce.com/services/data/v59.0/composite/sobjects",
            "https://SUB.rest.marketingcloudapis.com/",
            "https://SUB.rest.marketingcloudapis.com/automation/v1/automations",
        ),
        ("", "", None),
    ],
)
def test_automations_url(api_url: str, rest_instance_url: str, expected: str | None) -> None:
    assert automations_url(api_url, rest_instance_url) == expected


@pytest.mark.parametrize(
    ("retry_after", "answer", "expected"),
    [
        (7.0, {"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 5}, 7.0),
        (None, {"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 5}, 5.0),
        (None, {"message": "Your requests are temporarily blocked.", "errorcode": 50200}, 30.0),
        (None, {"retryAfter": "x"}, 5.0),
        (None, None, 5.0),
    ],
)
def test_rate_limit_wait(retry_after: float | None, answer: Any, expected: float) -> None:
    assert rate_limit_wait(retry_after, answer) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"message": "Automation is already running"}', True),
        ('{"message": "Automation not found"}', False),
    ],
)
def test_already_running(text: str, expected: bool) -> None:
    assert already_running(text) is expected
