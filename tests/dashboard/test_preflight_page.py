"""The dashboard's preflight page: the form, the report, and the dispatch's refusals."""

from __future__ import annotations

import re

import pytest

from disparo.sim.samples import make_rows
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, sign_in
from tests.e2e.helpers import CAMPAIGN


def field(html: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">([^<]*)<', html)
    assert found, f"no {name} in the page"
    return found.group(1).strip()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_page_shows_the_report_of_an_agendamento(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False, cda_batch_size=2)
    rows = make_rows(CAMPAIGN, 5)
    rows[3]["telefone"] = rows[0]["telefone"]
    stack.wordpress.add_campaign(CAMPAIGN, rows)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        form = await client.get("/dashboard/preflight")
        page = await client.get("/dashboard/preflight", params={"agendamento_id": CAMPAIGN})
        refused = await client.get("/dashboard/preflight", params={"agendamento_id": "Z1"})
    async with browser(stack) as anonymous:
        signed_out = await anonymous.get("/dashboard/preflight")

    assert form.status_code == 200 and 'name="agendamento_id"' in form.text
    assert "data-report" not in form.text
    assert page.status_code == 200
    assert [field(page.text, n) for n in ("rows", "valid", "skipped", "requests")] == [
        "5", "4", "1", "2",
    ]  # fmt: skip
    assert 'data-reason="telefone repetido na campanha"' in page.text
    assert "3: 5511*****0000" in page.text
    assert "would send to 4 recipients" in page.text
    assert refused.status_code == 400 and "prefixo de fornecedor conhecido" in refused.text
    assert signed_out.status_code in (302, 303)
