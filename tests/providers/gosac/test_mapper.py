"""GOSAC mapper: cases from CONTRACTS.md 5.2."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from disparo.providers.base import Recipient
from disparo.providers.gosac.mapper import (
    NO_NAME,
    already_started,
    build_create,
    campaign_id_of,
    campaign_name,
    iso_millis,
    reports_started,
)
from tests.support import GOSAC_EXAMPLE_BODY

NOW = datetime(2025, 1, 15, 12, 30, tzinfo=UTC)  # 1736944200000 ms
TEXT = "Olá, temos uma proposta para o seu contrato."
UM = Recipient(
    1, "5511900000001", "CLIENTE EXEMPLO UM", "11111111111", "77", "1001", "500001", TEXT
)  # fmt: skip

CONTRACT_BODY = GOSAC_EXAMPLE_BODY  # as 5.2 prints it


def test_the_contract_example_body() -> None:
    plan = build_create([UM], TEXT, NOW)
    assert plan.body == CONTRACT_BODY
    assert list(plan.body) == list(CONTRACT_BODY)
    assert plan.skipped == {}


def test_name_and_scheduled_at_formats() -> None:
    when = datetime(2025, 3, 9, 7, 5, 4, 321000, tzinfo=UTC)
    assert campaign_name(when) == "campanha_1741503904321_2025-03-09T07-05-04-321Z"
    assert iso_millis(when) == "2025-03-09T07:05:04.321Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TEXT, TEXT),
        ("", "Olá"),  # empty -> "Olá"
        ('{"original_message": "Oi {nome}", "tracking_data": {}}', "Oi {nome}"),  # 2.1.1
        ('{"template_code": "x"}', '{"template_code": "x"}'),  # not the wrapper: as is
    ],
    ids=["plain", "empty", "gen-c-wrapper", "other-json"],
)
def test_message_is_the_first_rows_text(text: str, message: str) -> None:
    assert build_create([UM], text, NOW).body["message"] == message


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_rows_without_a_name_are_left_out_and_reported(name: str) -> None:
    nameless = UM._replace(id=2, phone="5521900000002", name=name)
    plan = build_create([UM, nameless], TEXT, NOW)
    assert [c["number"] for c in plan.body["contacts"]] == ["5511900000001"]
    assert plan.skipped == {2: NO_NAME}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"id": 4321, "name": "x", "status": "created", "contacts": 1}, "4321"),
        ({"campaign_id": "abc-1"}, "abc-1"),
        ({"campaignId": 4321}, "4321"),
        ({"data": {"id": 4321}}, "4321"),
        ({"id": "", "campaign_id": None, "campaignId": 7}, "7"),  # first NON-EMPTY
        ({"id": None, "data": {"id": "9"}}, "9"),
        ({"id": 1, "data": {"id": 2}}, "1"),  # order: id first
        ({"status": "created"}, None),
        ({"data": "4321"}, None),
        ({"id": True}, None),
        ([{"id": 1}], None),
        (None, None),
    ],
)
def test_campaign_id_fallbacks(answer: Any, expected: str | None) -> None:
    assert campaign_id_of(answer) == expected


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (409, "", True),
        (400, '{"message": "Campaign already started", "status": "started"}', True),
        (400, '{"message": "Campanha já iniciada"}', True),
        (422, "JÁ ESTÁ EM START", True),
        (400, '{"status": "Start"}', True),
        (422, '{"status": "running"}', True),
        (400, '{"message": "cannot start campaign"}', False),  # mentions start only
        (400, '{"status": "created"}', False),
        (401, '{"message": "already"}', False),
        (403, "already started", False),
        (404, '{"message": "Campaign not found"}', False),
        (500, "already started", False),
    ],
)
def test_already_started(status: int, text: str, expected: bool) -> None:
    try:
        answer = orjson.loads(text)
    except orjson.JSONDecodeError:
        answer = None
    assert already_started(status, text, answer) is expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"id": 1, "status": "started"}, True),
        ({"id": 1, "status": "RUNNING"}, True),
        ({"id": 1, "status": "created"}, False),
        ({"id": 1}, False),
        ("started", False),
    ],
)
def test_creation_that_reports_started(answer: Any, expected: bool) -> None:
    assert reports_started(answer) is expected
