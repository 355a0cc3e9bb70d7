"""WordPress simulator -> API -> workers -> Salesforce simulator -> webhooks: Core import in
chunks of 200, then the delayed Marketing Cloud automation run (CONTRACTS 5.6)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from disparo.campaigns.models import BatchStatus, BatchStep
from disparo.devstack import DevStack
from disparo.providers.salesforce.dev import DEV_OPERACAO
from disparo.providers.salesforce.simulator import (
    AUTOMATIONS_PATH,
    MC_TOKEN_PATH,
    SOBJECTS_PATH,
    TOKEN_PATH,
    SalesforceSimulator,
)
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e

CAMPAIGN = "S20250115093000"
RUN_PATH = AUTOMATIONS_PATH + "/auto-exemplo-1/actions/runallonce"
RATE_LIMITED = {"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 1}


def salesforce(stack: DevStack) -> SalesforceSimulator:
    simulator: SalesforceSimulator = stack.simulators["SALESFORCE"].simulator
    return simulator


def sf_url(stack: DevStack) -> str:
    return stack.simulators["SALESFORCE"].server.url


def hooks_at_least(stack: DevStack, count: int) -> Callable[[], Awaitable[bool]]:
    async def enough() -> bool:
        return len(stack.wordpress.webhooks_for(CAMPAIGN)) >= count

    return enough


async def mkc_batch(stack: DevStack) -> Any:
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    return next((b for b in batches if b.step == BatchStep.MKC), None)


async def test_import_in_chunks_then_automation(stack_factory: StackFactory) -> None:
    stack = await stack_factory(salesforce_mkc_delay=1.0)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 205)
    rows[3]["nome"] = ""  # LastName is required: "Contato" stands in
    rows[4]["cpf_cnpj"] = ""
    stack.wordpress.add_campaign(CAMPAIGN, rows)
    salesforce(stack).rejected_phones = {rows[7]["telefone"]}  # one bad record, not its chunk

    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=20)

    assert final["status"] == "COMPLETED"
    assert (final["sent_messages"], final["failed_messages"]) == (204, 1)
    sim = salesforce(stack)
    # One Core token for both chunks (fetched once, reused), never one per request.
    [token] = sim.requests_to("token")
    assert token.path == TOKEN_PATH
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.headers["accept"] == "application/json"
    assert token.form == {
        "grant_type": "password",
        "client_id": sim.account.client_id,
        "client_secret": sim.account.client_secret,
        "username": sim.account.username,
        "password": sim.account.password,
    }
    chunks = sim.requests_to("sobjects")
    assert sorted(len(c.json["records"]) for c in chunks) == [5, 200]
    assert all(c.path == SOBJECTS_PATH and c.json["allOrNone"] is False for c in chunks)
    bearer = "Bearer " + token.response_body["access_token"]
    assert {c.headers["authorization"] for c in chunks} == {bearer}
    records = {r["MobilePhone"]: r for c in chunks for r in c.json["records"]}
    assert sorted(records) == sorted(row["telefone"] for row in rows)
    assert records[rows[0]["telefone"]] == {
        "attributes": {"type": "Contact"},
        "MobilePhone": rows[0]["telefone"],
        "LastName": rows[0]["nome"],
        "CPF_CNPJ__c": rows[0]["cpf_cnpj"],
        "Operacao__c": DEV_OPERACAO,
        "disparo__c": True,
    }
    assert records[rows[3]["telefone"]]["LastName"] == "Contato"
    assert records[rows[4]["telefone"]]["CPF_CNPJ__c"] == ""

    # Marketing Cloud: client-credentials token, then the run, after the delay.
    [mc_token] = sim.requests_to("mc_token")
    assert mc_token.path == MC_TOKEN_PATH
    assert mc_token.json == {
        "grant_type": "client_credentials",
        "client_id": sim.account.mc_client_id,
        "client_secret": sim.account.mc_client_secret,
    }
    [run] = sim.requests_to("run")
    assert (run.path, run.json) == (RUN_PATH, {})
    assert run.headers["authorization"] == "Bearer " + mc_token.response_body["access_token"]
    last_chunk = max(c.received_at for c in chunks)
    assert (run.received_at - last_chunk).total_seconds() >= 1.0
    assert sim.automation_runs == ["auto-exemplo-1"]

    _, batches, messages = await campaign_rows(stack, CAMPAIGN)
    sends = [b for b in batches if b.step == BatchStep.SEND]
    assert [(b.status, b.message_count) for b in sends] == [
        (BatchStatus.SENT, 200),
        (BatchStatus.SENT, 5),
    ]
    mkc = await mkc_batch(stack)
    assert (mkc.status, mkc.attempts) == (BatchStatus.SENT, 1)
    failed = [m for m in messages if m.status == "FAILED"]
    assert [(m.row_index, m.error) for m in failed] == [
        (7, "DUPLICATES_DETECTED: Contato duplicado")
    ]
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado", "mkc_executado"]
    assert (hooks[1]["provider"], hooks[1]["total_enviados"], hooks[1]["total_falhas"]) == (
        "SALESFORCE",
        204,
        1,
    )
    assert (hooks[2]["provider"], hooks[2]["total_enviados"], hooks[2]["total_falhas"]) == (
        "SALESFORCE_MKC",
        0,
        0,
    )
    assert "Automação do Marketing Cloud executada com sucesso" in hooks[2]["resposta_api"]
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"enviado"}


async def test_rate_limited_run_is_waited_out(stack_factory: StackFactory) -> None:
    stack = await stack_factory(salesforce_mkc_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).fail_next(429, count=2, body=RATE_LIMITED, retry_after=1, route="run")

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=20)

    runs = salesforce(stack).requests_to("run")
    assert [r.response_status for r in runs] == [429, 429, 202]
    assert all(
        (b.received_at - a.received_at).total_seconds() >= 1.0 for a, b in itertools.pairwise(runs)
    )
    mkc = await mkc_batch(stack)
    assert (mkc.status, mkc.attempts) == (BatchStatus.SENT, 1)  # not counted as failures
    assert len(salesforce(stack).requests_to("mc_token")) == 1  # the token is reused
    assert stack.wordpress.webhooks_for(CAMPAIGN)[-1]["status"] == "mkc_executado"


async def test_unknown_automation_sends_mkc_erro(stack_factory: StackFactory) -> None:
    stack = await stack_factory(salesforce_mkc_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).account.automation_ids = ()

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=20)

    mkc = await mkc_batch(stack)
    assert mkc.status == BatchStatus.FAILED and "Automation not found" in mkc.last_error
    assert len(salesforce(stack).requests_to("run")) == 1
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert [h["status"] for h in hooks] == ["processando", "enviado", "mkc_erro"]
    assert (hooks[2]["provider"], hooks[2]["total_enviados"], hooks[2]["total_falhas"]) == (
        "SALESFORCE_MKC",
        0,
        1,
    )
    # 2.4: mkc_erro moves the rows to `erro`, although the contacts were imported.
    assert stack.wordpress.row_statuses(CAMPAIGN) == {"erro"}


async def test_already_running_automation_counts_as_success(stack_factory: StackFactory) -> None:
    stack = await stack_factory(salesforce_mkc_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).running = {"auto-exemplo-1"}

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=20)

    assert (await mkc_batch(stack)).status == BatchStatus.SENT
    assert stack.wordpress.webhooks_for(CAMPAIGN)[-1]["status"] == "mkc_executado"


async def test_marketing_cloud_from_the_mkc_route(stack_factory: StackFactory) -> None:
    """Gen B WordPress: no mkc_* values in the Salesforce block; `mkc/{env}` has them."""
    stack = await stack_factory(salesforce_mkc_delay=0.5)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    account = salesforce(stack).account
    env = {"operacao": DEV_OPERACAO, "automation_id": "auto-exemplo-1"}
    stack.wordpress.set_credentials("salesforce", env, env_id="1001")
    stack.wordpress.set_credentials(
        "mkc",
        {
            "client_id": account.mc_client_id,
            "client_secret": account.mc_client_secret,
            "token_url": sf_url(stack) + MC_TOKEN_PATH,
            "api_url": sf_url(stack) + "/",  # a REST base: the automations path is appended
        },
    )

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=20)

    assert [r.path for r in salesforce(stack).requests_to("run")] == [RUN_PATH]
    assert stack.wordpress.webhooks_for(CAMPAIGN)[-1]["status"] == "mkc_executado"


async def test_no_record_created_fails_and_schedules_no_automation(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(salesforce_mkc_delay=0.2)
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).rejected_phones = {row["telefone"] for row in rows}

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED" and final["failed_messages"] == 2
    assert await mkc_batch(stack) is None
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == [
        "processando",
        "erro_envio",
    ]
    assert salesforce(stack).requests_to("mc_token") == []


async def test_missing_operacao_fails_with_erro_credenciais(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 2, env_id="2002")  # no env block: no operacao
    stack.wordpress.set_credentials("salesforce", None, env_id="1001")

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=1)

    assert final["status"] == "FAILED"
    assert "operacao" in final["error_message"] and "automation_id" in final["error_message"]
    assert [h["status"] for h in stack.wordpress.webhooks_for(CAMPAIGN)] == ["erro_credenciais"]
    assert salesforce(stack).requests == []


async def test_bad_password_fails_the_batch_without_retrying(stack_factory: StackFactory) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).account.password = "changed"

    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)

    assert final["status"] == "FAILED"
    assert "invalid_grant: authentication failure" in final["errors"][0]["error"]
    assert len(salesforce(stack).requests_to("token")) == 1
    assert salesforce(stack).requests_to("sobjects") == []
    assert stack.wordpress.webhooks_for(CAMPAIGN)[-1]["status"] == "erro_envio"


@pytest.mark.slow
async def test_automation_delayed_more_than_12_seconds_runs(stack_factory: StackFactory) -> None:
    stack = await stack_factory(salesforce_mkc_delay=13.0)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=45)

    [chunk] = salesforce(stack).requests_to("sobjects")
    [run] = salesforce(stack).requests_to("run")
    waited = (run.received_at - chunk.received_at).total_seconds()
    assert 13.0 <= waited <= 30, waited
    assert stack.wordpress.webhooks_for(CAMPAIGN)[-1]["status"] == "mkc_executado"


async def test_run_without_an_answer_is_unknown_and_not_repeated(
    stack_factory: StackFactory,
) -> None:
    """An automation run may have started: running it again could send twice (rule 3)."""
    stack = await stack_factory(salesforce_mkc_delay=0.2, salesforce_mkc_timeout=0.3)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    salesforce(stack).delay_next(1.0, route="run")

    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(hooks_at_least(stack, 3), timeout=20)

    mkc = await mkc_batch(stack)
    assert mkc.status == BatchStatus.UNKNOWN and mkc.attempts == 1
    assert len(salesforce(stack).requests_to("run")) == 1
    hooks = stack.wordpress.webhooks_for(CAMPAIGN)
    assert hooks[-1]["status"] == "mkc_erro" and "sem resposta" in hooks[-1]["resposta_api"]
