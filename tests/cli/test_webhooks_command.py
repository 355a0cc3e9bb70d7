"""`disparo webhooks list|replay`, run as an operator runs them."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from sqlalchemy import select

from disparo.audit.models import AuditEvent
from disparo.campaigns.models import Campaign, CampaignStatus
from disparo.config import to_async_url
from disparo.db.engine import create_engine, create_session_factory
from disparo.migrations import upgrade
from disparo.queues.names import QueueName, webhook_job_id
from disparo.queues.producer import JobQueues
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox
from tests.cli.test_commands import DISPARO, _clean_env
from tests.conftest import REDIS_URL


async def test_list_and_replay_undeliverable_webhooks(tmp_path: Path, redis_prefix: str) -> None:
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    await upgrade(to_async_url(url))
    campaign_id = uuid.uuid4()
    engine = create_engine(to_async_url(url))
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        session.add(
            Campaign(
                id=campaign_id,
                agendamento_id="C20250115093000",
                provider="CDA",
                status=CampaignStatus.COMPLETED,
            )
        )
        session.add(
            WebhookOutbox(
                id=41,
                campaign_id=campaign_id,
                agendamento_id="C20250115093000",
                payload={"agendamento_id": "C20250115093000", "status": "enviado"},
                status=OutboxStatus.FAILED,
                attempts=7,
                last_error="HTTP 401: API Key inválida.",
            )
        )
    env = _clean_env(
        DISPARO_DATABASE_URL=url,
        DISPARO_REDIS_URL=REDIS_URL,
        DISPARO_QUEUE_PREFIX=redis_prefix,
        COLUMNS="200",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DISPARO, "webhooks", *args], env=env, capture_output=True, text=True, timeout=60
        )

    listed = run("list")
    assert listed.returncode == 0, listed.stderr
    assert "webhooks não entregues: 1" in listed.stdout
    assert "C20250115093000" in listed.stdout and "HTTP 401" in listed.stdout

    replayed = run("replay", "41", "999")
    assert replayed.returncode == 1  # 999 does not exist: said, and the exit code tells
    assert "41: reenfileirado" in replayed.stdout
    assert "999: Webhook 999 não encontrado" in replayed.stdout
    async with sessions() as session:
        entry = (await session.scalars(select(WebhookOutbox))).one()
        audit = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(e.via, e.action, e.target, e.outcome) for e in audit] == [
        ("cli", "replay", "webhook 41", "done"),
        ("cli", "replay", "webhook 999", "refused"),
    ]
    assert audit[0].actor.startswith("cli:")
    assert entry.status == OutboxStatus.PENDING and entry.retry_until is not None
    queues = JobQueues(REDIS_URL, redis_prefix)
    try:
        state = await queues.queue(QueueName.WEBHOOKS).getJobState(
            webhook_job_id(str(campaign_id), 41, 7)
        )
    finally:
        await queues.close()
    assert state == "waiting"
    assert "webhooks não entregues: 0" in run("list").stdout
    await engine.dispose()
