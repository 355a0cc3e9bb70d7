"""Backup and restore: a `pg_dump` taken mid-campaign is restored into a new database, and
workers pointed at it with an EMPTY Redis finish the campaign (the reconciler rebuilds every
job from the database).

The site keeps sending for a moment after the dump, then is lost (its workers killed). The
honest guarantee, measured here: nothing the restored database says was sent (SENT) or may
have been sent (SENDING with its request stamped, then UNKNOWN) goes out again; batches sent
after the dump are PENDING in it, or SENDING with no request stamped yet (the stamp commits
before the request leaves, so the dump proves that request had not left), and are sent
again — the only duplicates, and every one of them is a recipient the provider received
between the dump and the loss."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from disparo.campaigns.models import BatchStep, Campaign, CampaignMessage, ProviderBatch
from disparo.config import Settings
from disparo.db.scratch import scratch_database
from disparo.runtime import open_runtime
from tests.conftest import PG_ADMIN_URL, wait_for
from tests.faults.harness import Rig, audit, report, rig, worker_env
from tests.faults.infra import PG_BIN, RedisServer, Workers

pytestmark = pytest.mark.faults

RECIPIENTS, BATCH = 400, 5
Key = tuple[str, str]  # (env id, phone): what the CDA simulator's import lines carry


def _pg(tool: str, *args: str) -> None:
    subprocess.run([str(PG_BIN / tool), *args], check=True, capture_output=True, timeout=120)


def _imported(the_rig: Rig, start: int = 0, end: int | None = None) -> Counter[Key]:
    imports = the_rig.cda.imported[start:end]
    lines = (line.split(";") for c in imports for line in c.mensagens)
    return Counter((fields[0], fields[1]) for fields in lines)


UNSENT_IN_DUMP = {"PENDING", "SENDING unstamped"}


async def _dumped_batch_status(settings: Settings) -> dict[Key, str]:
    """Each recipient's batch status as the restored database says, before anything runs;
    a SENDING batch whose request was not stamped reads "SENDING unstamped"."""
    runtime = await open_runtime(settings)
    try:
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(
                    Campaign.env_id,
                    CampaignMessage.phone,
                    ProviderBatch.status,
                    ProviderBatch.request_at,
                )
                .join(CampaignMessage, CampaignMessage.campaign_id == Campaign.id)
                .join(
                    ProviderBatch,
                    (ProviderBatch.campaign_id == Campaign.id)
                    & (ProviderBatch.sequence == CampaignMessage.batch_seq)
                    & (ProviderBatch.step == BatchStep.SEND),
                )
            )
            return {
                (env or "", phone): _dumped_state(str(status), request_at)
                for env, phone, status, request_at in rows
            }
    finally:
        await runtime.close()


def _dumped_state(status: str, request_at: datetime | None) -> str:
    return f"{status} unstamped" if status == "SENDING" and request_at is None else status


async def test_a_dump_restored_onto_an_empty_redis_finishes_the_campaign(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    chaos = {"seed": 5, "slow": (0.1, 0.4)}
    async with rig(tmp_path, pg_url, own_redis.url, chaos=chaos, cda_batch_size=BATCH) as the_rig:
        agendamento_id = await the_rig.seed_and_dispatch(RECIPIENTS)

        async def mid_campaign() -> bool:
            return len(the_rig.cda.requests) >= 20

        await wait_for(mid_campaign, timeout=60)
        dump = tmp_path / "disparo.dump"
        before_dump = len(the_rig.cda.imported)
        await asyncio.to_thread(_pg, "pg_dump", "--format=custom", f"--file={dump}", pg_url)
        await asyncio.sleep(1.0)  # the site goes on sending after its last backup...
        for process in the_rig.workers.processes:  # ...then is lost
            process.kill()
            process.wait(10)
        await asyncio.sleep(1.0)  # requests that arrived whole are still imported (chaos.slow)
        lost_at = len(the_rig.cda.imported)
        sent_after_dump = set(_imported(the_rig, before_dump, lost_at))

        async with scratch_database(PG_ADMIN_URL, "disparo_restored") as restored_url:
            await asyncio.to_thread(_pg, "pg_restore", "--no-owner", f"--dbname={restored_url}",
                                    str(dump))  # fmt: skip
            empty_redis = RedisServer(tmp_path / "restored")
            empty_redis.start()
            settings = the_rig.settings.model_copy(
                update={"database_url": restored_url, "redis_url": empty_redis.url}
            )
            in_dump = await _dumped_batch_status(settings)
            old_runtime, the_rig.runtime = the_rig.runtime, await open_runtime(settings)
            (tmp_path / "restored-workers").mkdir()
            pool = Workers(worker_env(settings), tmp_path / "restored-workers")
            try:
                pool.start()
                pool.start()
                await the_rig.wait_all_final(timeout=120)
                result = await audit(the_rig)

                async def final_webhook() -> bool:
                    hooks = the_rig.wordpress.webhooks_for(agendamento_id)
                    return bool(hooks) and hooks[-1]["status"] == "enviado"

                await wait_for(final_webhook, timeout=60)
            finally:
                pool.stop()
                await the_rig.runtime.close()
                the_rig.runtime = old_runtime
                empty_redis.stop()

    imported = _imported(the_rig)
    twice = {key for key, count in imported.items() if count > 1}
    dumped = Counter(in_dump.values())
    figures = {
        "imports_before_dump": before_dump,
        "imports_when_lost": lost_at,
        "batches_in_dump": {k: v // BATCH for k, v in dumped.items()},
        "recipients_sent_after_dump": len(sent_after_dump),
        "sent_again_after_restore": len(twice),
        **result.as_dict(),
    }
    report("backup_restore", figures)
    assert before_dump < lost_at, "the dump must be taken while the campaign sends"
    assert dumped["SENT"] and dumped["PENDING"], dumped
    # What the restored database knew as sent, or possibly sent, never went out again.
    assert not {key for key in twice if in_dump[key] not in UNSENT_IN_DUMP}, figures
    # The only repeats: recipients the provider received after the dump was taken.
    assert twice <= sent_after_dump, figures
    assert result.lost == 0 and result.phantom == 0 and result.failed_but_imported == 0
    assert set(result.by_status) <= {"SENT", "UNKNOWN"}, figures
    assert result.recipients == RECIPIENTS
