"""Asking Core which contacts of a batch it created (the answer that settles an UNKNOWN
batch): the SOQL disparo writes, and SalesforceProvider.received_phones against the
simulator's query endpoint on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from disparo.providers.base import BatchRequest, Recipient, RejectedError, RetryableError
from disparo.providers.salesforce.adapter import SalesforceProvider
from disparo.providers.salesforce.lookup import (
    contacts_query,
    query_url,
    soql_datetime,
    soql_string,
)
from disparo.providers.salesforce.simulator import (
    QUERY_PATH,
    TOKEN_PATH,
    SalesforceSimulator,
)
from disparo.providers.salesforce.soql_sim import MalformedQuery, parse_contact_query
from disparo.providers.unknowns import ResolvesUnknown, UnknownBatch
from tests.support import SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

UM = Recipient(1, "5511900000001", "UM", "111", "77", "1001", "500001", "Olá")
PHONES = [f"55119000000{n:02d}" for n in range(1, 6)]
RECIPIENTS = [UM._replace(id=n, phone=phone) for n, phone in enumerate(PHONES, 1)]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    async with serve_swappable(SalesforceSimulator().app) as swappable:
        yield swappable


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def sim(current: SwappableApp) -> SalesforceSimulator:
    return current.swap(SalesforceSimulator())


def credentials(current: SwappableApp, sim: SalesforceSimulator, operacao: str = "OP") -> Any:
    account = sim.account
    raw = {
        "client_id": account.client_id,
        "client_secret": account.client_secret,
        "username": account.username,
        "password": account.password,
        "token_url": current.url + TOKEN_PATH,
        "operacao": operacao,
        "automation_id": "auto-exemplo-1",
    }
    return provider().parse_credentials(raw)


def provider() -> SalesforceProvider:
    return SalesforceProvider(batch_size=200, timeout=5.0, max_attempts=3, query_timeout=0.5)


def a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("OPERACAO_DEV", "'OPERACAO_DEV'"),
        ("d'Ávila", "'d\\'Ávila'"),
        ("barra\\fim", "'barra\\\\fim'"),
        ("\\'", "'\\\\\\''"),
        ("linha\nnova", "'linha\\nnova'"),
    ],
)
async def test_soql_strings_are_escaped(value: str, literal: str) -> None:
    assert soql_string(value) == literal


async def test_the_query_reads_back_as_it_was_meant() -> None:
    claimed = datetime(2026, 12, 4, 18, 0, 30, 123, tzinfo=UTC)
    soql = contacts_query("O'X\\", ["5511", "5512", "5511"], claimed)
    assert soql == (
        "SELECT Id, MobilePhone FROM Contact WHERE disparo__c = true"
        " AND Operacao__c = 'O\\'X\\\\' AND MobilePhone IN ('5511', '5512')"
        " AND CreatedDate >= 2026-12-04T17:58:30Z"
    )
    parsed = parse_contact_query(soql)
    assert (parsed.operacao, set(parsed.phones)) == ("O'X\\", {"5511", "5512"})
    assert soql_datetime(claimed.replace(tzinfo=None)) == "2026-12-04T18:00:30Z"
    with pytest.raises(MalformedQuery):
        parse_contact_query(soql.replace("\\'X", "'X"))  # an unescaped quote ends the string


async def test_the_query_url_sits_beside_the_collections_one() -> None:
    base = "https://exemplo.my.salesforce.com"
    assert query_url("", base, "59.0") == base + "/services/data/v59.0/query"
    assert query_url(base + "/services/data/v60.0/composite/sobjects", "", "59.0") == (
        base + "/services/data/v60.0/query"
    )


async def test_only_the_adapters_that_can_answer_declare_it() -> None:
    from disparo.config import Settings
    from disparo.providers.registry import build_registry

    adapters = build_registry(Settings(_env_file=None))
    assert [code for code, a in adapters.items() if isinstance(a, ResolvesUnknown)] == [
        "SALESFORCE"
    ]


async def test_created_contacts_are_found(
    sim: SalesforceSimulator, current: SwappableApp, client: httpx.AsyncClient
) -> None:
    adapter, creds = provider(), credentials(current, sim)
    claimed = a_minute_ago()
    sim.rejected_phones = {PHONES[1]}
    await adapter.send(client, creds, BatchRequest("S1", "1001", 0, RECIPIENTS[:3]))
    answer = await adapter.received_phones(client, creds, UnknownBatch(PHONES, claimed))
    assert answer.found == {PHONES[0], PHONES[2]}
    assert "5 telefone(s)" in answer.asked and "OP" in answer.asked
    [query] = sim.requests_to("query")
    assert query.path == QUERY_PATH and query.method == "GET"
    assert query.headers["authorization"].startswith("Bearer ")
    # Another operação's contacts, and contacts created before the claim, are not the batch's.
    other = credentials(current, sim, operacao="OUTRA")
    assert not (await adapter.received_phones(client, other, UnknownBatch(PHONES, claimed))).found
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert not (await adapter.received_phones(client, creds, UnknownBatch(PHONES, later))).found


async def test_answers_come_in_pages(
    sim: SalesforceSimulator, current: SwappableApp, client: httpx.AsyncClient
) -> None:
    adapter, creds = provider(), credentials(current, sim)
    sim.query_page_size = 2
    await adapter.send(client, creds, BatchRequest("S1", "1001", 0, RECIPIENTS))
    answer = await adapter.received_phones(client, creds, UnknownBatch(PHONES, a_minute_ago()))
    assert answer.found == set(PHONES)
    assert len(sim.requests_to("query")) == 3


async def test_a_query_without_a_valid_token_is_refused(
    sim: SalesforceSimulator, current: SwappableApp, client: httpx.AsyncClient
) -> None:
    answer = await client.get(current.url + QUERY_PATH, params={"q": "SELECT Id FROM Contact"})
    assert answer.status_code == 401
    assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    adapter, creds = provider(), credentials(current, sim)
    await adapter.received_phones(client, creds, UnknownBatch(PHONES, a_minute_ago()))
    sim.expire_tokens()  # the adapter's cached token is refused: one new token, asked again
    await adapter.received_phones(client, creds, UnknownBatch(PHONES, a_minute_ago()))
    assert [r.response_status for r in sim.requests_to("query")] == [401, 200, 401, 200]


async def test_a_failing_or_silent_query_raises_without_secrets(
    sim: SalesforceSimulator, current: SwappableApp, client: httpx.AsyncClient
) -> None:
    adapter, creds = provider(), credentials(current, sim)
    batch = UnknownBatch(PHONES, a_minute_ago())
    sim.fail_next(500, route="query")
    with pytest.raises(RetryableError):
        await adapter.received_phones(client, creds, batch)
    sim.fail_next(400, route="query", body=[{"message": "x", "errorCode": "MALFORMED_QUERY"}])
    with pytest.raises(RejectedError):
        await adapter.received_phones(client, creds, batch)
    sim.delay_next(1.0, route="query")
    with pytest.raises(Exception) as silent:
        await adapter.received_phones(client, creds, batch)
    text = str(silent.value)
    assert "ReadTimeout" in text and PHONES[0] not in text
    assert sim.account.password not in text and "Bearer" not in text
