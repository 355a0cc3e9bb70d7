"""A provider URL disparo must not call fails the batch permanently, at its first attempt,
with the host named, and nothing reaches the target (CDA by name resolving to loopback, CDA
outside the production allow-list, Salesforce's instance_url at the metadata address)."""

from __future__ import annotations

import pytest

from disparo.campaigns.models import BatchStatus
from disparo.devstack import DevStack
from disparo.providers.cda.simulator import IMPORT_PATH
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e


async def refused_batch(stack: DevStack, agendamento_id: str) -> str:
    final = await wait_final(stack, agendamento_id, webhooks=2)
    assert final["status"] == "FAILED"
    _, batches, _ = await campaign_rows(stack, agendamento_id)
    assert [(b.status, b.attempts) for b in batches] == [(BatchStatus.FAILED, 1)]
    return batches[0].last_error or ""


def point_cda_at(stack: DevStack, url: str) -> None:
    stack.wordpress.set_credentials("cda", {"api_url": url, "api_key": "chave-dev-cda"})


async def test_a_name_resolving_to_loopback_is_refused_when_private_is_not_allowed(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(outbound_allow_private=False)
    port = stack.simulators["CDA"].server.url.rsplit(":", 1)[1]
    point_cda_at(stack, f"http://localhost:{port}{IMPORT_PATH}")
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    await dispatch(stack, CAMPAIGN)  # WordPress itself, on 127.0.0.1, is trusted
    error = await refused_batch(stack, CAMPAIGN)
    assert "localhost" in error and "127.0.0.1" in error and "privado" in error
    assert stack.cda.requests == []


async def test_production_refuses_a_host_outside_the_allow_list(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(env="production", outbound_allow_private=True)
    point_cda_at(stack, stack.simulators["CDA"].server.url + IMPORT_PATH)
    stack.wordpress.seed_campaign(CAMPAIGN, 3)
    await dispatch(stack, CAMPAIGN)
    error = await refused_batch(stack, CAMPAIGN)
    assert "127.0.0.1" in error and "https" in error
    assert stack.cda.requests == []


async def test_salesforce_instance_url_is_checked_before_the_token_goes_there(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    salesforce = stack.simulators["SALESFORCE"].simulator
    salesforce.fail_next(
        200,
        body={"access_token": "00Dtoken!exemplo", "instance_url": "http://169.254.169.254"},
        route="token",
    )
    stack.wordpress.seed_campaign("S20250115093000", 3)
    await dispatch(stack, "S20250115093000")
    error = await refused_batch(stack, "S20250115093000")
    assert "169.254.169.254" in error
    assert salesforce.requests_to("token") and salesforce.requests_to("sobjects") == []
