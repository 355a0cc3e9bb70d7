"""`disparo status KEY [--follow]` and `disparo campaigns`, run as processes against the
database of a running stack."""

from __future__ import annotations

import asyncio

import pytest

from tests.cli.test_operator_commands import _disparo
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, dispatch, status, wait_final

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


async def test_status_follow_shows_progress_until_the_campaign_ends(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_batch_size=100, worker_concurrency=1)
    stack.wordpress.seed_campaign(CAMPAIGN, 500)
    stack.cda.delay_next(0.6, count=5)  # about 3 s of sending
    await dispatch(stack, CAMPAIGN)
    code, out = await _disparo(stack, "status", CAMPAIGN, "--follow", "--interval", "0.2")
    # It only returns once the campaign has ended, and says how.
    assert (await status(stack, CAMPAIGN))["status"] == "COMPLETED"
    assert code == 0, out
    assert f"{CAMPAIGN} COMPLETED" in out and "500/500" in out
    assert "sent" in out and "500" in out and "100%" in out


async def test_status_of_a_failed_campaign_when_following_exits_1(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    stack.wordpress.seed_campaign(CAMPAIGN, 5)
    stack.cda.fail_next(422)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    code, out = await _disparo(stack, "status", CAMPAIGN)
    assert code == 0 and "FAILED" in out and "HTTP 422" in out
    code, out = await _disparo(stack, "status", CAMPAIGN, "--follow")
    assert code == 1 and "FAILED" in out
    code, out = await _disparo(stack, "status", "C-nope")
    assert code == 1 and "Campanha não encontrada: C-nope" in out


async def test_campaigns_lists_them_newest_first_and_filters(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory()
    for index, count in enumerate((30, 20)):
        key = f"C2025011509300{index}"
        stack.wordpress.seed_campaign(key, count)
        await dispatch(stack, key)
        await wait_final(stack, key, webhooks=2)
        await asyncio.sleep(0.01)
    code, out = await _disparo(stack, "campaigns")
    assert code == 0, out
    assert "campaigns (2 of 2, newest first)" in out
    assert out.index("C20250115093001") < out.index("C20250115093000")
    code, out = await _disparo(stack, "campaigns", "--status", "failed")
    assert code == 0 and "campaigns (0 of 0" in out
    code, out = await _disparo(stack, "campaigns", "--status", "bogus")
    assert code == 2 and "status desconhecido 'bogus'" in out
