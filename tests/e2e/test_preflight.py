"""POST /campaigns/preflight against the whole stack: its numbers are what a dispatch of the
same agendamento then records and sends, and it records and sends nothing itself."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from disparo.campaigns import row_plan
from disparo.campaigns.ingest import run_dispatch
from disparo.campaigns.models import BatchStep, Campaign, CampaignMessage, ProviderBatch
from disparo.campaigns.preflight import run_preflight
from disparo.campaigns.rows import reason_kind
from disparo.devstack import DevStack
from disparo.providers.rcs_otima.dev import otima_sample_rows
from disparo.sim.samples import make_rows
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, api, campaign_rows, dispatch, wait_final

pytestmark = pytest.mark.e2e


def awkward_rows() -> list[Any]:
    """12 rows: 7 sendable (one with an empty name), and one of each skip reason."""
    rows: list[Any] = make_rows(CAMPAIGN, 10)
    rows[2]["telefone"] = "12345"  # invalid
    rows[3]["telefone"] = rows[0]["telefone"]  # repeated
    rows[4]["telefone"] = ""  # missing
    rows[5]["nome"] = ""  # sent, with a warning
    rows.append("not an object")
    rows.append(dict(rows[1]))  # repeated again
    return rows


async def preflight(stack: DevStack, agendamento_id: str) -> Any:
    async with api(stack) as client:
        return await client.post("/campaigns/preflight", json={"agendamento_id": agendamento_id})


async def recorded_counts(stack: DevStack) -> tuple[int, int, int]:
    async with stack.runtime.sessions() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Campaign, CampaignMessage, ProviderBatch)
        ]
    return counts[0] or 0, counts[1] or 0, counts[2] or 0


def by_reason(report: dict[str, Any]) -> dict[str, int]:
    return {entry["reason"]: entry["count"] for entry in report["skipped_by_reason"]}


async def test_the_preflight_counts_what_the_dispatch_then_does(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_batch_size=3)
    stack.wordpress.add_campaign(CAMPAIGN, awkward_rows())

    response = await preflight(stack, CAMPAIGN)
    recorded_before = await recorded_counts(stack)
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    _, batches, messages = await campaign_rows(stack, CAMPAIGN)

    assert response.status_code == 200, response.text
    report = response.json()
    assert recorded_before == (0, 0, 0)
    assert (report["rows"], report["valid"], report["skipped"]) == (12, 7, 5)
    dispatched = Counter(reason_kind(m.skip_reason) for m in messages if m.skip_reason)
    assert (
        by_reason(report)
        == dict(dispatched)
        == {
            "telefone repetido na campanha": 2,
            "telefone inválido": 1,
            "telefone ausente": 1,
            "linha não é um objeto JSON": 1,
        }
    )
    assert final["skipped_messages"] == report["skipped"]
    sends = [batch for batch in batches if batch.step == BatchStep.SEND]
    assert report["batches"] == len(sends) == 3
    assert report["requests"] == len(stack.cda.requests) == 3
    assert report["credentials_ok"] is True and report["problems"] == []
    assert report["would_dispatch"] is True
    invalid = next(e for e in report["skipped_by_reason"] if e["reason"] == "telefone inválido")
    assert invalid["examples"] == [{"row": 2, "phone": "*****"}]
    repeated = next(e for e in report["skipped_by_reason"] if "repetido" in e["reason"])
    assert [e["row"] for e in repeated["examples"]] == [3, 11]
    assert repeated["examples"][0]["phone"] == "5511*****0000"
    assert report["warnings_by_reason"] == [
        {"reason": "nome vazio", "count": 1, "examples": [{"row": 5, "phone": "5511*****0005"}]}
    ]


async def test_wrong_credentials_are_reported_and_nothing_is_recorded(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    stack.wordpress.seed_campaign(CAMPAIGN, 4)
    stack.wordpress.set_credentials("cda", None)

    response = await preflight(stack, CAMPAIGN)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["credentials_ok"] is False and report["would_dispatch"] is False
    assert [p["phase"] for p in report["problems"]] == ["credenciais"]
    assert report["valid"] == 4 and report["batches"] == 1
    assert await recorded_counts(stack) == (0, 0, 0)
    assert stack.cda.requests == []


async def test_an_unknown_prefix_is_the_dispatch_400(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)

    unknown = await preflight(stack, "Z123")
    not_served = await preflight(stack, "T123")
    dispatched = await dispatch(stack, "Z123")

    assert unknown.status_code == dispatched.status_code == 400
    assert unknown.json() == dispatched.json()
    assert not_served.status_code == 400 and "não é atendido" in not_served.text


async def test_wordpress_without_data_is_a_problem_not_an_error(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)

    report = (await preflight(stack, CAMPAIGN)).json()

    assert report["rows"] == 0 and report["would_dispatch"] is False
    assert report["problems"][0]["phase"] == "dados"
    assert "404" in report["problems"][0]["message"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_salesforce_timing_follows_the_rate_limit_and_the_second_step(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(
        with_worker=False,
        salesforce_mkc_delay=1200.0,
        provider_policies={"SALESFORCE": {"requests_per_second": 2}},
    )
    stack.wordpress.seed_campaign("S20250115093000", 1000)
    now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    opening = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)

    report = await run_preflight(
        stack.runtime, "S20250115093000", now=now, next_allowed=lambda at: max(at, opening)
    )

    assert (report.batches, report.requests, report.batch_size) == (5, 5, 200)
    assert report.earliest_start == opening
    # 5 batches at 2 per 1.1 s window: the last leaves in the third window.
    assert report.estimated_finish == opening + timedelta(seconds=2.2)
    assert report.second_step is not None and report.second_step.step == "mkc"
    assert report.second_step.at == opening + timedelta(seconds=2.2 + 1200)
    assert report.second_step.runs == 1  # one automation run per agendamento


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_grouped_batches_and_the_missing_group_match_the_dispatch(
    stack_factory: StackFactory,
) -> None:
    """Ótima RCS plans batches per customer_code: the preflight plans the same ones."""
    otima = "O20250115093000"
    stack = await stack_factory(with_worker=False, rcs_otima_batch_size=3)
    rows = otima_sample_rows(otima, 9)
    rows[8]["mensagem"] = json.dumps({"template_code": "x", "customer_code": ""})
    rows[8]["id_carteira"] = ""
    stack.wordpress.add_campaign(otima, rows)

    report = (await preflight(stack, otima)).json()
    assert await recorded_counts(stack) == (0, 0, 0)
    await dispatch(stack, otima)
    campaign, _, _ = await campaign_rows(stack, otima)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    _, batches, messages = await campaign_rows(stack, otima)

    assert report["batches"] == len(batches) == 4  # 4 rows per customer_code: 3 + 1 each
    assert report["requests"] == 4
    dispatched = Counter(reason_kind(m.skip_reason) for m in messages if m.skip_reason)
    assert by_reason(report) == dict(dispatched)
    assert list(dispatched) == [
        "sem customer_code (na mensagem, no id_carteira ou nas credenciais)"
    ]


async def test_a_check_added_to_the_shared_rules_shows_up_in_both(
    stack_factory: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the opt-out check will do: look rows up by the chunk. Added once, in row_plan,
    the preflight and the dispatch both skip the same rows for it."""
    stack = await stack_factory(with_worker=False, cda_batch_size=4)
    rows = make_rows(CAMPAIGN, 10)
    rows[9]["telefone"] = rows[2]["telefone"]  # repeated: told after the chunk checks
    stack.wordpress.add_campaign(CAMPAIGN, rows)
    suppressed = {rows[1]["telefone"], rows[6]["telefone"]}
    chunks: list[int] = []

    async def opt_out(candidates: Sequence[row_plan.Candidate]) -> list[str | None]:
        chunks.append(len(candidates))
        return ["opt-out" if c.phone in suppressed else None for c in candidates]

    monkeypatch.setattr(row_plan, "CHUNK_ROWS", 3)
    monkeypatch.setattr(row_plan, "chunk_checks", lambda *_: [opt_out])

    report = (await preflight(stack, CAMPAIGN)).json()
    looked_up = list(chunks)
    await dispatch(stack, CAMPAIGN)
    campaign, _, _ = await campaign_rows(stack, CAMPAIGN)
    await run_dispatch(stack.runtime, campaign.id, last_attempt=True)
    _, batches, messages = await campaign_rows(stack, CAMPAIGN)

    dispatched = Counter(reason_kind(m.skip_reason) for m in messages if m.skip_reason)
    assert (
        by_reason(report)
        == dict(dispatched)
        == {
            "opt-out": 2,
            "telefone repetido na campanha": 1,
        }
    )
    assert [m.row_index for m in messages if m.skip_reason == "opt-out"] == [1, 6]
    assert report["batches"] == len(batches) == 2  # 7 recipients in batches of 4
    # One lookup per chunk of 3 rows, the last chunk (row 9, a repeat) too.
    assert looked_up == [3, 3, 3, 1]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_estimate_follows_the_send_windows_through_a_weekend(
    stack_factory: StackFactory,
) -> None:
    """The provider's window and the body's janela_envio, as the dispatch would obey them:
    the sending starts at the next opening and pauses over the weekend."""
    stack = await stack_factory(
        with_worker=False,
        cda_batch_size=100,
        provider_policies={
            "CDA": {"requests_per_second": 1, "send_window": {"hours": {"mon-sat": "08:00-20:00"}}}
        },
    )
    stack.wordpress.seed_campaign(CAMPAIGN, 500)  # 5 batches at 1/s: 4.4 s of sending
    friday_late = datetime(2026, 12, 4, 22, 59, 58, tzinfo=UTC)  # Fri 19:59:58 in São Paulo
    window = {"hours": {"mon-fri": "08:00-20:00"}}  # the campaign's own: no Saturday

    report = await run_preflight(stack.runtime, CAMPAIGN, now=friday_late, send_window=window)

    assert report.problems == []
    assert report.earliest_start == friday_late
    # 2 s on Friday, the rest from Monday 08:00 (11:00 UTC): Saturday is closed for it.
    assert report.estimated_finish == datetime(2026, 12, 7, 11, 0, 2, 400000, tzinfo=UTC)

    async with api(stack) as client:
        never = {"hours": {"sun": "08:00-09:00"}}  # the provider never sends on Sundays
        answer = await client.post(
            "/campaigns/preflight", json={"agendamento_id": CAMPAIGN, "janela_envio": never}
        )
    assert answer.status_code == 200
    assert [p["phase"] for p in answer.json()["problems"]] == ["janela"]
