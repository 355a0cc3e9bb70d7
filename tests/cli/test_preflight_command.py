"""`disparo preflight KEY [--json]`, run as a process with a running stack's settings."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from disparo.devstack import DevStack
from disparo.sim.samples import make_rows
from tests.conftest import StackFactory
from tests.e2e.helpers import CAMPAIGN

DISPARO = str(Path(sys.executable).with_name("disparo"))


async def _disparo(stack: DevStack, *args: str) -> tuple[int, str]:
    settings = stack.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    env |= {
        "DISPARO_DATABASE_URL": settings.database_url,
        "DISPARO_REDIS_URL": settings.redis_url,
        "DISPARO_QUEUE_PREFIX": settings.queue_prefix,
        "DISPARO_WORDPRESS_URL": settings.wordpress_url,
        "DISPARO_WORDPRESS_API_KEY": settings.outbound_wordpress_key,
        "DISPARO_ENV": "development",
        "DISPARO_CDA_BATCH_SIZE": "2",  # what the stack runs with
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        DISPARO, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_preflight_prints_the_report_and_its_json(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False, cda_batch_size=2)
    rows = make_rows(CAMPAIGN, 5)
    rows[1]["telefone"] = "abc"
    stack.wordpress.add_campaign(CAMPAIGN, rows)

    human = await _disparo(stack, "preflight", CAMPAIGN)
    raw = await _disparo(stack, "preflight", CAMPAIGN, "--json")
    unknown = await _disparo(stack, "preflight", "Z1")

    assert human[0] == 0, human[1]
    assert "linhas 5 · válidas 4 · ignoradas 1" in human[1]
    assert "telefone inválido" in human[1] and "1: ***" in human[1]
    assert "lotes 2" in human[1] and "enviaria para 4 destinatários" in human[1]
    assert raw[0] == 0, raw[1]
    report = json.loads(raw[1])
    assert (report["valid"], report["batches"], report["requests"]) == (4, 2, 2)
    assert report["would_dispatch"] is True
    assert unknown[0] == 1 and "prefixo de fornecedor conhecido" in unknown[1]
