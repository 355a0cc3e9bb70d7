"""A fault rig: simulators in this process (real HTTP servers), `disparo worker` processes,
and an audit that compares the database with what the CDA simulator really imported."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from disparo.campaigns.models import OPEN_BATCH, Campaign, MessageStatus, ProviderBatch
from disparo.campaigns.repository import list_messages
from disparo.campaigns.service import dispatch
from disparo.config import Settings
from disparo.http_server import RunningServer, start_server
from disparo.migrations import upgrade
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.providers.registry import env_names, provider_settings
from disparo.runtime import Runtime, open_runtime
from disparo.sim.wordpress import WordPressSimulator
from tests.faults.infra import Chaos, Workers
from tests.support import settings_with

FINAL = {"COMPLETED", "FAILED", "CANCELLED"}
CDA_KEY = "chave-falhas-cda"
WP_KEY = "wp-master-key"
REPORTS = Path(__file__).resolve().parents[2] / "var" / "fault-reports"

# Every delay short, so a test sees many recoveries in seconds; the mechanisms are the same.
FAST: dict[str, Any] = {
    "retry_base_delay": 0.2,
    "retry_max_delay": 1.0,
    "dispatch_retry_delay": 0.5,
    "webhook_retry_delay": 0.2,
    "reconcile_interval": 1.0,
    "reconcile_grace": 2.0,
    "send_deadline": 4.0,
    "stale_send_margin": 1.0,
    "rate_limit_max_wait": 3.0,
    "job_lock_seconds": 4.0,
    "cda_timeout": 2.0,
    "worker_concurrency": 2,
}


@dataclass
class Rig:
    settings: Settings
    runtime: Runtime
    wordpress: WordPressSimulator
    cda: CdaSimulator
    chaos: Chaos
    workers: Workers
    servers: list[RunningServer] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)

    async def seed_and_dispatch(self, count: int) -> str:
        """A new campaign of `count` recipients with its own env id (so recipients of
        different campaigns never look alike), dispatched as WordPress would."""
        number = len(self.campaigns) + 1
        agendamento_id = f"C2025011509{number:04d}"
        self.wordpress.seed_campaign(agendamento_id, count, env_id=str(5000 + number))
        await dispatch(self.runtime, agendamento_id)
        self.campaigns.append(agendamento_id)
        return agendamento_id

    async def statuses(self) -> dict[str, str]:
        """Each campaign's status; "OPEN" while any of its batches is (a cancelled campaign
        may still have one in flight)."""
        async with self.runtime.sessions() as session:
            rows = await session.execute(
                select(Campaign.agendamento_id, Campaign.status).where(
                    Campaign.agendamento_id.in_(self.campaigns)
                )
            )
            found = {agendamento: str(status) for agendamento, status in rows}
            still_open = await session.scalars(
                select(Campaign.agendamento_id)
                .join(ProviderBatch, ProviderBatch.campaign_id == Campaign.id)
                .where(
                    Campaign.agendamento_id.in_(self.campaigns),
                    ProviderBatch.status.in_(OPEN_BATCH),
                )
            )
            return found | dict.fromkeys(still_open, "OPEN")

    async def wait_all_final(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                statuses = await self.statuses()
            except Exception:  # the database may be restarting
                statuses = {}
            if len(statuses) == len(self.campaigns) and set(statuses.values()) <= FINAL:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"campaigns not final within {timeout} s: {statuses}")
            await asyncio.sleep(0.5)


def worker_env(settings: Settings) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, list):
            value = ",".join(v.get_secret_value() if isinstance(v, SecretStr) else v for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value)
        if value is not None:
            env[f"DISPARO_{name.upper()}"] = str(value)
    # Each provider's own variables (DISPARO_CDA_TIMEOUT...), as the plugins read them.
    for variable, (code, name) in env_names().items():
        env[variable] = str(getattr(provider_settings(settings, code), name))
    return env


@asynccontextmanager
async def rig(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    *,
    workers: int = 2,
    chaos: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Rig]:
    wordpress = WordPressSimulator(master_key=WP_KEY)
    cda = CdaSimulator(api_key=CDA_KEY)
    layer = Chaos(cda.app, IMPORT_PATH, **({"seed": 0} | (chaos or {})))
    wordpress_server = await start_server(wordpress.app)
    cda_server = await start_server(layer)
    wordpress.set_credentials("cda", {"api_url": cda_server.url + IMPORT_PATH, "api_key": CDA_KEY})
    values = FAST | {
        "database_url": database_url,
        "redis_url": redis_url,
        "queue_prefix": "fault",
        "data_dir": tmp_path,
        "wordpress_url": wordpress_server.url,
        "api_keys": [SecretStr("fault-key")],
        "wordpress_api_key": SecretStr(WP_KEY),
        "log_format": "json",
        "log_level": "INFO",
        **overrides,
    }
    settings = settings_with(**values)
    await upgrade(settings.sqlalchemy_url)
    runtime = await open_runtime(settings)
    pool = Workers(worker_env(settings), tmp_path)
    for _ in range(workers):
        pool.start()
    the_rig = Rig(settings, runtime, wordpress, cda, layer, pool, [wordpress_server, cda_server])
    try:
        yield the_rig
    finally:
        pool.stop()
        await runtime.close()
        for server in the_rig.servers:
            await server.stop()


@dataclass
class Audit:
    """Recipients by final status, and what the provider really received."""

    recipients: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0  # recipient lines the provider imported more than once
    lost: int = 0  # SENT in the database but never imported, or still PENDING
    failed_but_imported: int = 0
    phantom: int = 0  # imported lines that match no recipient of ours
    unknown_batches: int = 0
    unknown_imported: int = 0  # recipients of UNKNOWN batches the provider did get
    requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "by_status": dict(self.by_status)}


async def audit(the_rig: Rig) -> Audit:
    imported = Counter(
        tuple(line.split(";")[:2]) for c in the_rig.cda.imported for line in c.mensagens
    )
    result = Audit(requests=len(the_rig.cda.requests))
    result.duplicates = sum(count - 1 for count in imported.values() if count > 1)
    ours: set[tuple[str, ...]] = set()
    async with the_rig.runtime.sessions() as session:
        for agendamento_id in the_rig.campaigns:
            campaign = await session.scalar(
                select(Campaign).where(Campaign.agendamento_id == agendamento_id)
            )
            assert campaign is not None
            batches = (
                await session.scalars(
                    select(ProviderBatch).where(ProviderBatch.campaign_id == campaign.id)
                )
            ).all()
            result.unknown_batches += sum(b.status == "UNKNOWN" for b in batches)
            messages = await list_messages(session, campaign.id, status=None, after=0, limit=None)
            for message in messages:
                key = (campaign.env_id or "", message.phone)
                ours.add(key)
                _count(result, message.status, imported[key])
    result.phantom = sum(count for key, count in imported.items() if key not in ours)
    return result


def _count(result: Audit, status: MessageStatus, imported: int) -> None:
    result.recipients += 1
    result.by_status[str(status)] += 1
    if (status == MessageStatus.SENT and imported == 0) or status == MessageStatus.PENDING:
        result.lost += 1
    elif status == MessageStatus.FAILED and imported:
        result.failed_but_imported += 1
    elif status == MessageStatus.UNKNOWN and imported:
        result.unknown_imported += 1


def assert_clean(result: Audit) -> None:
    """The promise: nobody twice, nobody lost, every recipient in a final state."""
    assert result.duplicates == 0, result.as_dict()
    assert result.lost == 0, result.as_dict()
    assert result.failed_but_imported == 0, result.as_dict()
    assert result.phantom == 0, result.as_dict()
    assert set(result.by_status) <= {"SENT", "FAILED", "SKIPPED", "UNKNOWN"}, result.as_dict()


def report(name: str, figures: dict[str, Any], lines: Sequence[str] = ()) -> None:
    """Print the figures (docs/reliability.md quotes them) and keep them under var/."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"FAULT-REPORT {name} {json.dumps(figures, default=str)}")
    for line in lines:
        print(f"FAULT-REPORT {name} {line}")
