"""`disparo dlq ...`, `disparo campaign ...` and `disparo retry-unknown`, run as processes
against the database and Redis of a running stack."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from disparo.devstack import DevStack
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN, dispatch, wait_final

DISPARO = str(Path(sys.executable).with_name("disparo"))


async def _disparo(stack: DevStack, *args: str, answer: str = "") -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    env |= {
        "DISPARO_DATABASE_URL": stack.settings.database_url,
        "DISPARO_REDIS_URL": stack.settings.redis_url,
        "DISPARO_QUEUE_PREFIX": stack.settings.queue_prefix,
        "DISPARO_ENV": "development",
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        DISPARO,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(answer.encode()), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_dead_letters_and_controls_from_the_command_line(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(cda_max_attempts=1)
    stack.wordpress.seed_campaign(CAMPAIGN, 2)
    stack.cda.fail_next(500)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)

    listed = await _disparo(stack, "dlq", "list", "--history")
    declined = await _disparo(stack, "dlq", "redrive", "--provider", "CDA", answer="n\n")
    assert len(stack.cda.requests) == 1
    redriven = await _disparo(stack, "dlq", "redrive", "--error", "HTTP 500", "--yes")
    final = await wait_final(stack, CAMPAIGN, webhooks=4)
    finished = await _disparo(stack, "campaign", "pause", CAMPAIGN)
    missing = await _disparo(stack, "retry-unknown", "C000")
    no_filter = await _disparo(stack, "dlq", "redrive")

    assert listed[0] == 0 and CAMPAIGN in listed[1] and "HTTP 500" in listed[1]
    assert "dead_letter" in listed[1]
    assert declined[0] == 1 and "1 dead letter(s) match" in declined[1]
    assert redriven[0] == 0 and "1 batch(es), 2 recipients" in redriven[1]
    assert final["sent_messages"] == 2 and len(stack.cda.requests) == 2
    assert finished[0] == 1 and "já terminou" in finished[1]
    assert missing[0] == 1 and "Campanha não encontrada" in missing[1]
    assert no_filter[0] == 2 and "--all" in no_filter[1]
