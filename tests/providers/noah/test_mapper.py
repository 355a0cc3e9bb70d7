"""NOAH mapper: cases from CONTRACTS.md 5.3."""

from __future__ import annotations

from typing import Any

import pytest

from disparo.providers.base import Recipient
from disparo.providers.noah.mapper import CONTACT_KEYS, build_import, contact_for
from tests.support import NOAH_EXAMPLE_BODY

TEXT = "Olá, temos uma proposta para o seu contrato."
UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001", TEXT,
    {"data_cadastro": "2025-01-15 09:30:00"},
)  # fmt: skip

CONTRACT_BODY = NOAH_EXAMPLE_BODY


def test_the_contract_example_body() -> None:
    body = build_import([UM], "1001", now_ms=1736944200000)
    assert body == CONTRACT_BODY
    assert tuple(body["data"][0]) == CONTACT_KEYS  # exactly these keys


@pytest.mark.parametrize(
    ("row_value", "env_id", "expected"),
    [
        ("1001", "77", "1001"),  # the row's own value wins
        ("", "77", "77"),  # Gen B rows lack it: the env id fills it
        ("0", "77", "77"),
    ],
)
def test_idgis_ambiente(row_value: str, env_id: str, expected: str) -> None:
    recipient = UM._replace(idgis_ambiente=row_value)
    assert contact_for(recipient, env_id)["idgis_ambiente"] == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (TEXT, TEXT),
        ('{"original_message": "Oi", "tracking_data": {"is_bait": true}}', "Oi"),
        ("", ""),
    ],
)
def test_mensagem_is_the_rows_free_text(message: str, expected: str) -> None:
    assert contact_for(UM._replace(message=message), "1001")["mensagem"] == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"data_cadastro": "2025-01-15 09:30:00"}, "2025-01-15 09:30:00"),
        ({"variables": {}}, ""),
        (None, ""),
    ],
)
def test_data_cadastro_from_the_row(extra: dict[str, Any] | None, expected: str) -> None:
    assert contact_for(UM._replace(extra=extra), "1001")["data_cadastro"] == expected


def test_every_value_is_a_string_and_order_is_kept() -> None:
    dois = UM._replace(id=2, phone="5521900000002", name="", cpf_cnpj="", extra=None)
    body = build_import([UM, dois], "1001", now_ms=1)
    assert [c["telefone"] for c in body["data"]] == ["5511900000001", "5521900000002"]
    assert all(isinstance(v, str) for c in body["data"] for v in c.values())
