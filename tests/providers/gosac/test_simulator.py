"""The GOSAC simulator over real HTTP on loopback: answers and every fault it can inject."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from disparo.providers.gosac.simulator import CREATE_PATH, GosacSimulator
from tests.support import GOSAC_EXAMPLE_BODY, SwappableApp, serve_swappable

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "tok_exemplo_gosac"
AUTH = {"Authorization": TOKEN}
GOOD = GOSAC_EXAMPLE_BODY


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def current() -> AsyncIterator[SwappableApp]:
    async with serve_swappable(GosacSimulator(TOKEN).app) as swappable:
        yield swappable


@pytest.fixture
def sim(current: SwappableApp) -> GosacSimulator:
    return current.swap(GosacSimulator(TOKEN))


def start_path(campaign_id: object) -> str:
    return f"{CREATE_PATH}/{campaign_id}/status/started"


async def test_create_then_start_then_already_started(
    sim: GosacSimulator, client: httpx.AsyncClient
) -> None:
    created = await client.post(CREATE_PATH, json=GOOD, headers=AUTH)
    assert created.status_code == 201
    assert created.json() == {
        "id": 4321,
        "name": GOOD["name"],
        "status": "created",
        "contacts": 1,
    }
    first = await client.put(start_path(4321), json={}, headers=AUTH)
    second = await client.put(start_path(4321), json={}, headers=AUTH)
    assert (first.status_code, first.json()) == (200, {"id": 4321, "status": "started"})
    assert second.status_code == 400
    assert second.json() == {"message": "Campaign already started", "status": "started"}
    assert sim.campaigns[4321].starts == 2
    assert [r.route for r in sim.requests] == ["create", "start", "start"]


@pytest.mark.parametrize(
    ("shape", "answer_keys"),
    [("data.id", {"data"}), ("campaignId", {"campaignId", "name", "status", "contacts"})],
)
async def test_id_shapes(
    sim: GosacSimulator, client: httpx.AsyncClient, shape: Any, answer_keys: set[str]
) -> None:
    sim.id_shape = shape
    answer = (await client.post(CREATE_PATH, json=GOOD, headers=AUTH)).json()
    assert set(answer) == answer_keys


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "outro"}]
)
async def test_token_must_be_raw(
    sim: GosacSimulator, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(CREATE_PATH, json=GOOD, headers=headers)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert sim.campaigns == {}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kind": "sms"}, "kind"),
        ({"contacts": []}, "contacts"),
        ({"speed": "high"}, "speed"),
        ({"name": "campanha_x"}, "name"),
        ({"scheduledAt": "2025-01-15 12:30:00"}, "scheduledAt"),
        ({"contacts": [{"name": "A", "number": "11900000001", "hasWhatsapp": True}]}, "número"),
        ({"contacts": [{"name": "", "number": "5511900000001", "hasWhatsapp": True}]}, "nome"),
    ],
)
async def test_invalid_bodies_are_refused(
    sim: GosacSimulator, client: httpx.AsyncClient, change: dict[str, Any], problem: str
) -> None:
    body = copy.deepcopy(GOOD) | change
    response = await client.post(CREATE_PATH, json=body, headers=AUTH)
    assert response.status_code == 400 and problem in response.json()["message"]


async def test_start_of_an_unknown_campaign(sim: GosacSimulator, client: httpx.AsyncClient) -> None:
    response = await client.put(start_path(99), json={}, headers=AUTH)
    assert (response.status_code, response.json()) == (404, {"message": "Campaign not found"})


async def test_started_on_create(sim: GosacSimulator, client: httpx.AsyncClient) -> None:
    sim.started_on_create = True
    created = (await client.post(CREATE_PATH, json=GOOD, headers=AUTH)).json()
    assert created["status"] == "started"
    assert (await client.put(start_path(4321), json={}, headers=AUTH)).status_code == 400


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_injected_server_error_changes_nothing(
    sim: GosacSimulator, client: httpx.AsyncClient, status: int
) -> None:
    sim.fail_next(status, route="create")
    assert (await client.post(CREATE_PATH, json=GOOD, headers=AUTH)).status_code == status
    assert sim.campaigns == {}
    assert (await client.post(CREATE_PATH, json=GOOD, headers=AUTH)).status_code == 201


async def test_injected_429_carries_retry_after(
    sim: GosacSimulator, client: httpx.AsyncClient
) -> None:
    await client.post(CREATE_PATH, json=GOOD, headers=AUTH)
    sim.fail_next(429, retry_after=7, route="start")
    response = await client.put(start_path(4321), json={}, headers=AUTH)
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert sim.campaigns[4321].status == "created"


async def test_slow_answer_times_out_the_client_but_still_creates(
    sim: GosacSimulator, client: httpx.AsyncClient
) -> None:
    sim.delay_next(0.5, route="create")
    with pytest.raises(httpx.ReadTimeout):
        await client.post(CREATE_PATH, json=GOOD, headers=AUTH, timeout=0.05)
    for _ in range(40):
        if sim.campaigns:
            break
        await asyncio.sleep(0.05)
    assert list(sim.campaigns) == [4321]  # like a real server: the request was carried out
