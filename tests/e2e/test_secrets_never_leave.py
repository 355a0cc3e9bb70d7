"""Every provider's campaign runs with recognisable secrets (served by the WordPress
simulator, expected by the provider simulators), each provider first answering with an error
that echoes its secret; then the database dump, every Redis key and value, the captured logs
and every webhook body are searched: no secret appears."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from disparo.devstack import DevStack
from disparo.logs import configure_logging
from disparo.providers.cda.simulator import IMPORT_PATH as CDA_PATH
from disparo.providers.gosac.simulator import CREATE_PATH
from disparo.providers.noah.simulator import BASE_PATH
from disparo.providers.rcs.simulator import IMPORT_PATH as RCS_PATH
from disparo.providers.rcs_otima.dev import seed_otima_sample
from disparo.providers.rcs_otima.simulator import API_PREFIX
from disparo.providers.salesforce.simulator import AUTOMATIONS_PATH, MC_TOKEN_PATH, TOKEN_PATH
from disparo.providers.whatsapp_otima.dev import seed_sample as seed_whatsapp_sample
from disparo.providers.whatsapp_otima.simulator import API_PREFIX as WPP_PREFIX
from tests.conftest import REDIS_URL, StackFactory, wait_for
from tests.e2e.helpers import dispatch, wait_final

pytestmark = pytest.mark.e2e

ENV = "1001"


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: its pg_dump is the database dump searched."""
    return pg_url


def secret(name: str) -> str:
    return f"SEGREDO-{name}-{uuid.uuid4().hex[:12]}"


def arm(stack: DevStack) -> dict[str, str]:
    """Give every provider a recognisable secret and make its first send echo it back."""
    names = ("cda", "gosac", "noah", "rcs", "otima", "whatsapp")
    secrets = {code: secret(code.lower()) for code in names}
    sims = {code: running for code, running in stack.simulators.items()}
    url = {code: running.server.url for code, running in sims.items()}
    wp = stack.wordpress
    cda = sims["CDA"].simulator
    cda.api_key = secrets["cda"]
    wp.set_credentials("cda", {"api_url": url["CDA"] + CDA_PATH, "api_key": cda.api_key})
    gosac = sims["GOSAC"].simulator
    gosac.token = secrets["gosac"]
    wp.set_credentials(
        "gosac", {"url": url["GOSAC"] + CREATE_PATH, "token": gosac.token}, env_id=ENV
    )
    noah = sims["NOAH"].simulator
    noah.token = secrets["noah"]
    wp.set_credentials("noah", {"url": url["NOAH"] + BASE_PATH, "token": noah.token}, env_id=ENV)
    rcs = sims["RCS"].simulator
    rcs.api_key = secrets["rcs"]
    wp.set_credentials("rcs", {"chave_api": rcs.api_key, "base_url": url["RCS"] + RCS_PATH})
    otima = sims["RCS_OTIMA"].simulator
    otima.token = secrets["otima"]
    wp.set_credentials(
        "rcs_otima",
        {"token": otima.token, "api_url": url["RCS_OTIMA"] + API_PREFIX,
         "broker_code": "broker_dev", "customer_code": ""},
    )  # fmt: skip
    whatsapp = sims["WHATSAPP_OTIMA"].simulator
    whatsapp.token = secrets["whatsapp"]
    wp.set_credentials(
        "whatsapp_otima",
        {"token": whatsapp.token, "api_url": url["WHATSAPP_OTIMA"] + WPP_PREFIX,
         "broker_code": "5511999990000", "customer_code": "77"},
    )  # fmt: skip
    secrets |= arm_salesforce(stack)
    own = {"RCS_OTIMA": "otima", "WHATSAPP_OTIMA": "whatsapp"}
    for code, running in sims.items():
        echoed = secrets[own.get(code, code.lower())]
        route = {"SALESFORCE": "sobjects"}.get(code, "*")
        # Free text, no secret-looking name next to it: only masking by value catches it.
        body = {"erro": f"recusado {echoed} tente de novo"}
        running.simulator.fail_next(503, body=body, route=route)
    return secrets


def arm_salesforce(stack: DevStack) -> dict[str, str]:
    running = stack.simulators["SALESFORCE"]
    account, base = running.simulator.account, running.server.url
    account.client_secret, account.password = secret("sf-client"), secret("sf-senha")
    account.mc_client_secret = secret("mc-client")
    stack.wordpress.set_credentials(
        "salesforce",
        {"client_id": account.client_id, "client_secret": account.client_secret,
         "username": account.username, "password": account.password,
         "token_url": base + TOKEN_PATH, "api_url": ""},
    )  # fmt: skip
    stack.wordpress.set_credentials(
        "salesforce",
        {"operacao": "OPERACAO_DEV", "automation_id": account.automation_ids[0],
         "mkc_client_id": account.mc_client_id, "mkc_client_secret": account.mc_client_secret,
         "mkc_token_url": base + MC_TOKEN_PATH, "mkc_api_url": base + AUTOMATIONS_PATH},
        env_id=ENV,
    )  # fmt: skip
    return {
        "salesforce": account.client_secret,
        "salesforce-senha": account.password,
        "mkc": account.mc_client_secret,
    }


async def redis_dump(prefix: str) -> str:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    parts: list[str] = []
    try:
        async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            kind = await client.type(key)
            value: Any
            if kind == "string":
                value = await client.get(key)
            elif kind == "hash":
                value = await client.hgetall(key)  # type: ignore[misc]
            elif kind == "list":
                value = await client.lrange(key, 0, -1)  # type: ignore[misc]
            elif kind == "set":
                value = sorted(await client.smembers(key))  # type: ignore[misc]
            elif kind == "zset":
                value = await client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                value = await client.xrange(key)
            else:
                value = kind
            parts.append(f"{key} {json.dumps(value, default=str)}")
    finally:
        await client.aclose()
    assert parts, "no Redis key under the test's prefix: the dump would prove nothing"
    return "\n".join(parts)


def pg_dump(url: str) -> str:
    done = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", url], capture_output=True, text=True, check=True
    )
    assert "COPY public.campaigns" in done.stdout
    return done.stdout


async def test_no_secret_in_database_redis_logs_or_webhooks(
    stack_factory: StackFactory,
    pg_url: str,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = await stack_factory(
        webhook_secret=SecretStr(secret("webhook")),
        gosac_start_delay=0.3,
        salesforce_mkc_delay=0.3,
        log_format="json",
        log_level="DEBUG",
    )
    configure_logging(stack.settings)
    secrets = arm(stack)
    campaigns = {"C": 4, "G": 4, "N": 4, "R": 4, "S": 4}
    for prefix, count in campaigns.items():
        stack.wordpress.seed_campaign(f"{prefix}20250115093000", count, env_id=ENV)
    seed_otima_sample(stack.wordpress, "O20250115093000", 4)
    seed_whatsapp_sample(stack.wordpress, "W20250115093000", 4)
    others = ["O20250115093000", "W20250115093000"]
    for agendamento in [*(f"{p}20250115093000" for p in campaigns), *others]:
        assert (await dispatch(stack, agendamento)).status_code == 202
    finals = {}
    for agendamento, hooks in [
        ("C20250115093000", 2), ("N20250115093000", 2), ("R20250115093000", 2),
        ("O20250115093000", 2), ("G20250115093000", 2), ("S20250115093000", 2),
        ("W20250115093000", 2),
    ]:  # fmt: skip
        finals[agendamento] = await wait_final(stack, agendamento, webhooks=hooks, timeout=60)
    assert {f["status"] for f in finals.values()} == {"COMPLETED"}, finals
    sf = stack.simulators["SALESFORCE"].simulator
    gosac = stack.simulators["GOSAC"].simulator

    async def second_steps_ran() -> bool:
        return bool(sf.automation_runs) and any(r.method == "PUT" for r in gosac.requests)

    await wait_for(second_steps_ran, timeout=30)
    # A refusal that stays: the echoed key reaches the campaign's error and resposta_api.
    refused = "C20250115093001"
    stack.wordpress.seed_campaign(refused, 3, env_id=ENV)
    stack.simulators["CDA"].simulator.fail_next(
        400, body={"erro": f"chave {secrets['cda']} inválida"}
    )
    assert (await dispatch(stack, refused)).status_code == 202
    assert (await wait_final(stack, refused, webhooks=2, timeout=60))["status"] == "FAILED"
    # Each provider did answer with its secret echoed (the masking had something to do).
    for running in stack.simulators.values():
        assert any(r.response_status == 503 for r in running.simulator.requests)
    await asyncio.sleep(0.5)  # the last log lines and webhook deliveries

    tokens = [*sf._core_tokens, *sf._mc_tokens]
    assert tokens, "Salesforce issued no token"
    all_secrets = [*secrets.values(), *tokens, stack.settings.outbound_wordpress_key,
                   *(k.get_secret_value() for k in stack.settings.api_keys)]  # fmt: skip
    webhook_bodies = "\n".join(
        hook.raw.decode("utf-8", "replace") for hook in stack.wordpress.webhooks
    )
    places = {
        "database": pg_dump(pg_url),
        "redis": await redis_dump(redis_prefix),
        "logs": "\n".join(capsys.readouterr()),
        "webhooks": webhook_bodies,
    }
    assert "recusado *** tente de novo" in places["database"]  # the echo, masked
    assert "chave *** inv" in webhook_bodies
    assert "provider.response" in places["logs"]
    leaks = [(where, s) for where, text in places.items() for s in all_secrets if s in text]
    assert leaks == []
