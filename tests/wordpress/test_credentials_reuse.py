"""A campaign's batches reuse the credentials WordPress gave (the real simulator on
loopback counts its credential requests): one request per campaign while they are fresh,
one at a time however many batches ask at once, a new one after a failed request or once
they expire, and one per batch when reuse is off."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from disparo.errors import CredentialsError
from disparo.http_server import start_server
from disparo.providers.cda.adapter import CdaCredentials, CdaProvider
from disparo.sim.wordpress import WordPressSimulator
from disparo.wordpress.client import WordPressClient
from disparo.wordpress.credentials_reuse import CredentialsReuse

KEY = "wp-chave-mestra-exemplo"
CDA = CdaProvider(batch_size=10, timeout=5.0, max_attempts=1)
FIRST = {"api_url": "https://cda.example.com/importar", "api_key": "chave-um"}
ROTATED = {"api_url": "https://cda.example.com/importar", "api_key": "chave-dois"}


@pytest.fixture
async def wordpress() -> AsyncIterator[tuple[WordPressSimulator, WordPressClient]]:
    sim = WordPressSimulator(master_key=KEY)
    sim.set_credentials("cda", FIRST)
    server = await start_server(sim.app)
    async with httpx.AsyncClient() as http:
        client = WordPressClient(
            http, server.url + "/", KEY, data_timeout=5, credentials_timeout=5, webhook_timeout=5
        )
        try:
            yield sim, client
        finally:
            await server.stop()


def _asked(sim: WordPressSimulator) -> int:
    return sim.requests_seen["credentials"]


async def test_a_campaign_asks_once_while_fresh_and_again_after_a_failure(
    wordpress: tuple[WordPressSimulator, WordPressClient],
) -> None:
    sim, client = wordpress
    reuse, campaign = CredentialsReuse(client, 60.0), uuid.uuid4()
    got = await asyncio.gather(*(reuse.for_campaign(campaign, CDA, "1001") for _ in range(20)))
    assert _asked(sim) == 1  # twenty batches at once: one request, the others waited for it
    assert {c.api_key for c in got} == {"chave-um"} and isinstance(got[0], CdaCredentials)

    sim.set_credentials("cda", ROTATED)
    assert (await reuse.for_campaign(campaign, CDA, "1001")).api_key == "chave-um"  # fresh
    other = await reuse.for_campaign(uuid.uuid4(), CDA, "1001")  # a new campaign: asks
    assert other.api_key == "chave-dois" and _asked(sim) == 2

    reuse.forget(campaign)  # a request with them failed (the rotated key answered 401)
    assert (await reuse.for_campaign(campaign, CDA, "1001")).api_key == "chave-dois"
    assert _asked(sim) == 3


async def test_they_expire_and_reuse_can_be_turned_off(
    wordpress: tuple[WordPressSimulator, WordPressClient],
) -> None:
    sim, client = wordpress
    short, campaign = CredentialsReuse(client, 0.2), uuid.uuid4()
    await short.for_campaign(campaign, CDA, "1001")
    await asyncio.sleep(0.3)  # past the reuse time itself
    await short.for_campaign(campaign, CDA, "1001")
    assert _asked(sim) == 2

    off = CredentialsReuse(client, 0)
    for _ in range(3):
        await off.for_campaign(campaign, CDA, "1001")
    assert _asked(sim) == 5


async def test_incomplete_credentials_are_refused_and_never_kept(
    wordpress: tuple[WordPressSimulator, WordPressClient],
) -> None:
    sim, client = wordpress
    sim.set_credentials("cda", {"api_url": "https://cda.example.com/importar", "api_key": ""})
    reuse, campaign = CredentialsReuse(client, 60.0), uuid.uuid4()
    for _ in range(2):
        with pytest.raises(CredentialsError):
            await reuse.for_campaign(campaign, CDA, "1001")
    assert _asked(sim) == 2
