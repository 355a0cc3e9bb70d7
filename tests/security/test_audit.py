"""Every operator action is recorded with who did it (the key's name), through which door,
on what, with what outcome and counts, from which address: API, dashboard and CLI alike."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from tests.cli.test_operator_commands import _disparo
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, csrf_of, sign_in

OPS = "ops-key-" + "o" * 32


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_api_dashboard_and_cli_actions_are_audited(stack_factory: StackFactory) -> None:
    keys = [SecretStr(API_KEY), SecretStr(f"ops:read+operate+dashboard:{OPS}")]
    stack = await stack_factory(with_worker=False, api_keys=keys)
    api = httpx.AsyncClient(base_url=stack.api.url, headers={"X-API-KEY": OPS}, timeout=30)
    async with api, browser(stack) as dashboard:
        dispatched = await api.post(
            "/campaigns/dispatch",
            json={"agendamento_id": "C1"},
            headers={"X-API-KEY": API_KEY},
        )
        campaign = dispatched.json()["campaign_id"]
        assert (await api.post(f"/campaigns/{campaign}/pause")).status_code == 200
        await sign_in(dashboard, OPS)
        confirm = await dashboard.get(f"/dashboard/campaigns/{campaign}/confirm/resume")
        done = await dashboard.post(
            f"/dashboard/campaigns/{campaign}/resume", data={"csrf_token": csrf_of(confirm.text)}
        )
        assert done.status_code == 303
        code, output = await _disparo(stack, "campaign", "cancel", campaign)
        assert code == 0, output
        refused = await api.post(f"/campaigns/{campaign}/resume")
        assert refused.status_code == 409
        missing = await api.post("/campaigns/C-none/retry-failed")
        assert missing.status_code == 404
        assert (await api.post("/dead-letters/redrive", json={"all": True})).status_code == 200
        by_filter = await api.post("/dead-letters/redrive", json={"provider": "CDA", "error": "x"})
        assert by_filter.status_code == 200

        events = (await api.get("/audit")).json()
        page = await dashboard.get("/dashboard/audit")
    rows = [(e["actor"], e["via"], e["action"], e["target"], e["outcome"]) for e in events["items"]]
    assert rows[::-1] == [
        ("ops", "api", "pause", campaign, "done"),
        ("ops", "dashboard", "sign-in", "dashboard", "done"),
        ("ops", "dashboard", "resume", campaign, "done"),
        (rows[-4][0], "cli", "cancel", campaign, "done"),
        ("ops", "api", "resume", campaign, "refused"),
        ("ops", "api", "retry-failed", "C-none", "refused"),
        ("ops", "api", "redrive", "all", "done"),
        ("ops", "api", "redrive", "provider=CDA error=x", "done"),
    ]
    assert rows[-4][0].startswith("cli:")
    by_action = {(e["action"], e["outcome"]): e for e in events["items"]}
    cancel = by_action[("cancel", "done")]
    assert cancel["batches"] == 0 and cancel["recipients"] == 0 and cancel["client"]
    assert by_action[("pause", "done")]["client"] == "127.0.0.1"
    assert "terminou" in by_action[("resume", "refused")]["detail"]
    assert events["total"] == 8
    assert page.status_code == 200
    assert page.text.count('<tr data-row="') == 8 and "retry-failed" in page.text
    assert OPS not in page.text and OPS not in str(events)
