"""The Salesforce simulator (Core + Marketing Cloud) over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from disparo.providers.salesforce.simulator import (
    AUTOMATIONS_PATH,
    MC_TOKEN_PATH,
    SOBJECTS_PATH,
    TOKEN_PATH,
    SalesforceAccount,
    SalesforceSimulator,
)
from tests.support import SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACCOUNT = SalesforceAccount()
FORM = {
    "grant_type": "password",
    "client_id": ACCOUNT.client_id,
    "client_secret": ACCOUNT.client_secret,
    "username": ACCOUNT.username,
    "password": ACCOUNT.password,
}
MC_BODY = {
    "grant_type": "client_credentials",
    "client_id": ACCOUNT.mc_client_id,
    "client_secret": ACCOUNT.mc_client_secret,
}
RECORD: dict[str, Any] = {
    "attributes": {"type": "Contact"},
    "MobilePhone": "5511900000001",
    "LastName": "CLIENTE EXEMPLO UM",
    "CPF_CNPJ__c": "11111111111",
    "Operacao__c": "OPERACAO_EXEMPLO",
    "disparo__c": True,
}
RUN = AUTOMATIONS_PATH + "/auto-exemplo-1/actions/runallonce"
RATE_LIMITED = {"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 5}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    async with serve_swappable(SalesforceSimulator().app) as swappable:
        yield swappable


@pytest.fixture
def sim(current: SwappableApp) -> SalesforceSimulator:
    return current.swap(SalesforceSimulator())


async def core_token(client: httpx.AsyncClient) -> str:
    answer = (await client.post(TOKEN_PATH, data=FORM)).json()
    return str(answer["access_token"])


async def mc_token(client: httpx.AsyncClient) -> str:
    return str((await client.post(MC_TOKEN_PATH, json=MC_BODY)).json()["access_token"])


async def test_core_token_like_the_public_contract(
    sim: SalesforceSimulator, client: httpx.AsyncClient, current: SwappableApp
) -> None:
    answer = (await client.post(TOKEN_PATH, data=FORM)).json()
    assert set(answer) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert answer["instance_url"] == current.url and answer["token_type"] == "Bearer"
    assert sim.requests[0].form == FORM


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"client_id": "x"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
        ),
        (
            {"password": "x"},
            {"error": "invalid_grant", "error_description": "authentication failure"},
        ),
    ],
)
async def test_core_token_refusals(
    sim: SalesforceSimulator, client: httpx.AsyncClient, change: dict[str, str], error: Any
) -> None:
    response = await client.post(TOKEN_PATH, data=FORM | change)
    assert (response.status_code, response.json()) == (400, error)


async def test_collections_per_record_results(
    sim: SalesforceSimulator, client: httpx.AsyncClient
) -> None:
    sim.rejected_phones = {"5521900000002"}
    headers = {"Authorization": "Bearer " + await core_token(client)}
    body = {
        "allOrNone": False,
        "records": [RECORD, RECORD | {"MobilePhone": "5521900000002"}, RECORD | {"LastName": ""}],
    }
    response = await client.post(SOBJECTS_PATH, json=body, headers=headers)
    assert response.status_code == 200
    first, second, third = response.json()
    assert first["success"] is True and first["id"].startswith("003")
    assert second == {
        "success": False,
        "errors": [{"statusCode": "DUPLICATES_DETECTED", "message": "Contato duplicado"}],
    }
    assert third["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert [c.fields["MobilePhone"] for c in sim.contacts] == ["5511900000001"]


async def test_more_than_200_records_is_a_request_error(
    sim: SalesforceSimulator, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": "Bearer " + await core_token(client)}
    body = {"allOrNone": False, "records": [RECORD] * 201}
    response = await client.post(SOBJECTS_PATH, json=body, headers=headers)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sim.contacts == []


async def test_expired_session(sim: SalesforceSimulator, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer " + await core_token(client)}
    sim.expire_tokens()
    body = {"allOrNone": False, "records": [RECORD]}
    response = await client.post(SOBJECTS_PATH, json=body, headers=headers)
    assert (response.status_code, response.json()) == (
        401,
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )


async def test_marketing_cloud_token_and_run(
    sim: SalesforceSimulator, client: httpx.AsyncClient, current: SwappableApp
) -> None:
    answer = (await client.post(MC_TOKEN_PATH, json=MC_BODY)).json()
    assert answer["expires_in"] == 1079 and answer["rest_instance_url"] == current.url + "/"
    headers = {"Authorization": "Bearer " + answer["access_token"]}
    run = await client.post(RUN, json={}, headers=headers)
    assert (run.status_code, run.json()) == (202, {"id": "auto-exemplo-1", "status": "Running"})
    assert sim.automation_runs == ["auto-exemplo-1"]


async def test_marketing_cloud_refusals(
    sim: SalesforceSimulator, client: httpx.AsyncClient
) -> None:
    bad = await client.post(MC_TOKEN_PATH, json=MC_BODY | {"client_secret": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    headers = {"Authorization": "Bearer " + await mc_token(client)}
    unknown = await client.post(
        AUTOMATIONS_PATH + "/nao-existe/actions/runallonce", json={}, headers=headers
    )
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Automation not found"})
    sim.running = {"auto-exemplo-1"}
    running = await client.post(RUN, json={}, headers=headers)
    assert running.json() == {"message": "Automation is already running"}
    assert (await client.post(RUN, json={})).status_code == 401  # no token
    assert sim.automation_runs == []


async def test_rate_limit_fault(sim: SalesforceSimulator, client: httpx.AsyncClient) -> None:
    sim.fail_next(429, body=RATE_LIMITED, retry_after=5, route="run")
    headers = {"Authorization": "Bearer " + await mc_token(client)}
    limited = await client.post(RUN, json={}, headers=headers)
    assert (limited.status_code, limited.headers["retry-after"], limited.json()) == (
        429,
        "5",
        RATE_LIMITED,
    )
    assert (await client.post(RUN, json={}, headers=headers)).status_code == 202


@pytest.mark.parametrize("route", ["token", "sobjects", "mc_token", "run"])
async def test_server_errors_and_slow_answers_per_route(
    sim: SalesforceSimulator, client: httpx.AsyncClient, route: str
) -> None:
    sim.delay_next(0.5, route=route)
    paths = {"token": TOKEN_PATH, "sobjects": SOBJECTS_PATH, "mc_token": MC_TOKEN_PATH, "run": RUN}
    with pytest.raises(httpx.ReadTimeout):
        await client.post(paths[route], json={}, timeout=0.05)  # slow, then the 503
    sim.delay_next(0.5, route=route)
    sim.fail_next(503, route=route, retry_after=4)
    with pytest.raises(httpx.ReadTimeout):
        await client.post(paths[route], json={}, timeout=0.05)
    sim.fail_next(503, route=route, retry_after=4)
    failed = await client.post(paths[route], json={})
    assert (failed.status_code, failed.headers["retry-after"]) == (503, "4")
    assert [r.route for r in sim.requests] == [route] * 3
