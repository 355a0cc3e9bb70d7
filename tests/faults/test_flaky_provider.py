"""Fault 4: the provider answers 30% 5xx, 10% 429 with Retry-After, holds 5% of the requests
past our read timeout (and imports them anyway), and answers the rest slowly."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from disparo.campaigns.models import Campaign, ProviderBatch
from tests.faults.harness import assert_clean, audit, report, rig
from tests.faults.infra import RedisServer

pytestmark = pytest.mark.faults

SEED = 4
RETRY_AFTER = 2.0
# A request that took its rate slot just before the 429 reached us may still arrive a moment
# later; anything later than this inside the Retry-After is a violation.
IN_FLIGHT = 0.5
MAX_ATTEMPTS = 8
CHAOS = {
    "seed": SEED,
    "p_5xx": 0.30,
    "p_429": 0.10,
    "p_timeout": 0.05,
    "timeout_s": 3.0,  # past DISPARO_CDA_TIMEOUT (2 s): the client gives up, the import happens
    "slow": (0.05, 0.4),
    "retry_after": RETRY_AFTER,
}


async def test_flaky_provider_totals_retry_after_and_attempt_limits(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    # No circuit breaker here: at 30% 5xx a window of 20 passes half failures now and then,
    # and each opening waits out a cool-down; this is about retries, Retry-After and the
    # attempt limit (the breaker's outages are tests/e2e/test_provider_outage.py).
    policy = {
        "CDA": {
            "max_attempts": MAX_ATTEMPTS,
            "base_delay": 0.2,
            "max_delay": 1.0,
            "breaker_window": 0,
        }
    }
    async with rig(
        tmp_path, pg_url, own_redis.url, chaos=CHAOS, cda_batch_size=5, provider_policies=policy
    ) as the_rig:
        await the_rig.seed_and_dispatch(120)
        await the_rig.seed_and_dispatch(80)
        await the_rig.wait_all_final(timeout=150)
        result = await audit(the_rig)
        async with the_rig.runtime.sessions() as session:
            attempts = await session.scalar(select(func.sum(ProviderBatch.attempts)))
            most = await session.scalar(select(func.max(ProviderBatch.attempts)))
            campaigns = (await session.scalars(select(Campaign))).all()
        hooks = {c: the_rig.wordpress.webhooks_for(c)[-1] for c in the_rig.campaigns}
    events = the_rig.chaos.events
    violations = [
        (pause.at, later.at)
        for pause in events
        if pause.kind == "429"
        for later in events
        if pause.at + IN_FLIGHT < later.at < pause.at + RETRY_AFTER
    ]
    kinds = {kind: sum(e.kind == kind for e in events) for kind in ("5xx", "429", "timeout")}

    report(
        "flaky_provider",
        {"seed": SEED, "answers": kinds, "retry_after_violations": len(violations),
         "batch_attempts": attempts, "max_attempts_seen": most, **result.as_dict()},
    )  # fmt: skip
    assert_clean(result)
    assert violations == []
    assert kinds["5xx"] > 0 and kinds["429"] > 0 and kinds["timeout"] > 0
    assert attempts == len(events)  # every request the provider saw is an attempt we counted
    assert most is not None and most <= MAX_ATTEMPTS
    for campaign in campaigns:
        counted = campaign.sent_messages + campaign.failed_messages + campaign.unknown_messages
        assert counted + campaign.skipped_messages == campaign.total_messages
        final = hooks[campaign.agendamento_id]
        assert final["total_enviados"] == campaign.sent_messages
        assert final["total_falhas"] == campaign.total_messages - campaign.sent_messages
    # Held past the timeout: UNKNOWN, never resent, and the provider did import them.
    assert result.unknown_batches == kinds["timeout"]
    assert result.unknown_imported == result.by_status["UNKNOWN"]
