"""The log lines of a real campaign, as JSON: every line about the campaign carries its ids,
and the provider's request and response bodies appear only cut short and with the key
masked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from disparo.logs import CAMPAIGN_FIELDS, configure_logging
from disparo.providers.cda.dev import DEV_CDA_KEY
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, dispatch, wait_final
from tests.support import clean_settings

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

LIMIT = 300


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging(clean_settings(log_format="json", log_body_limit=LIMIT))
    yield
    configure_logging(clean_settings(log_format="console"))


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def test_campaign_lines_carry_its_ids_and_bodies_are_cut_and_masked(
    stack_factory: StackFactory, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = await stack_factory(cda_batch_size=20)
    stack.wordpress.seed_campaign(CAMPAIGN, 40)
    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    out = capsys.readouterr().out
    lines = _lines(out)

    about_campaign = [line for line in lines if line.get("agendamento_id") == CAMPAIGN]
    assert len(about_campaign) >= 10
    for line in about_campaign:
        assert set(CAMPAIGN_FIELDS) <= set(line), line
        assert line["campaign_id"] == str(final["campaign_id"]) and line["provider"] == "CDA"
    sending = [line for line in lines if line["event"].startswith(("send.", "provider."))]
    assert {line["batch"] for line in sending} == {0, 1}
    assert all(
        line["job_id"].startswith(f"campaign:{final['campaign_id']}:send:") for line in sending
    )
    assert all(line["agendamento_id"] == CAMPAIGN for line in sending)

    requests = [line for line in lines if line["event"] == "provider.request"]
    responses = [line for line in lines if line["event"] == "provider.response"]
    assert len(requests) == len(responses) == 2
    for line in requests:
        assert line["body"].startswith('{"chave_api":"***"')
        assert line["bytes"] > LIMIT and line["body"].endswith(f"… (of {line['bytes']})")
        assert len(line["body"]) <= LIMIT + len(f"… (of {line['bytes']})")
    assert all('"id_campanha"' in line["body"] for line in responses)
    assert DEV_CDA_KEY not in out  # the CDA key, anywhere in any line
