"""The system's state as gauges, read from the database and Redis when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from disparo.campaigns.batch_queries import dead_letters_only
from disparo.campaigns.models import Campaign
from disparo.campaigns.provider_controls import AccountView, provider_health
from disparo.db.base import utcnow
from disparo.observe.provider_metrics import provider_families
from disparo.providers.registry import ALL_QUEUES
from disparo.queues.producer import JobQueues
from disparo.runtime import Runtime
from disparo.wordpress.outbox_model import OutboxStatus, WebhookOutbox
from disparo.wordpress.webhooks import outbox_backlog

# bullmq's own names; "waiting" as people mean it is wait + prioritized + paused.
JOB_STATES = ("waiting", "prioritized", "paused", "active", "delayed", "failed", "completed")
MESSAGE_COUNTERS = {
    "sent": Campaign.sent_messages,
    "failed": Campaign.failed_messages,
    "skipped": Campaign.skipped_messages,
    "unknown": Campaign.unknown_messages,
}


@dataclass
class StateSnapshot:
    messages: dict[tuple[str, str], int] = field(default_factory=dict)
    campaigns: dict[str, int] = field(default_factory=dict)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    oldest_undelivered_age_s: float = 0.0
    workers: dict[str, int] = field(default_factory=dict)
    providers: list[AccountView] = field(default_factory=list)


async def queue_counts(queues: JobQueues) -> dict[str, dict[str, int]]:
    """Jobs per state of every queue of the plan, as the dashboard and the metrics show them."""
    counts: dict[str, dict[str, int]] = {}
    for name in ALL_QUEUES:
        raw = await queues.queue(name).getJobCounts(*JOB_STATES)
        found = {state: int(raw.get(state) or 0) for state in JOB_STATES}
        found["waiting"] += found.pop("prioritized") + found.pop("paused")
        counts[str(name)] = found
    return counts


async def take_snapshot(rt: Runtime) -> StateSnapshot:
    snapshot = StateSnapshot()
    async with rt.sessions() as session:
        sums = await session.execute(
            select(
                Campaign.provider, *(func.sum(column) for column in MESSAGE_COUNTERS.values())
            ).group_by(Campaign.provider)
        )
        for provider, *values in sums:
            for status, value in zip(MESSAGE_COUNTERS, values, strict=True):
                snapshot.messages[(provider, status)] = int(value or 0)
        by_status = await session.execute(
            select(Campaign.status, func.count()).group_by(Campaign.status)
        )
        snapshot.campaigns = {str(status): int(count) for status, count in by_status}
        # What `disparo dlq redrive` would send, by the one definition of a dead letter.
        dead = await session.execute(
            dead_letters_only(select(Campaign.provider, func.count())).group_by(Campaign.provider)
        )
        snapshot.dead_letters = {provider: int(count) for provider, count in dead}
        outbox = await session.execute(
            select(WebhookOutbox.status, func.count()).group_by(WebhookOutbox.status)
        )
        snapshot.outbox = {str(status): int(count) for status, count in outbox}
        _, oldest = await outbox_backlog(session)
    if oldest is not None:
        snapshot.oldest_undelivered_age_s = max(0.0, (utcnow() - oldest).total_seconds())
    snapshot.queues = await queue_counts(rt.queues)
    snapshot.workers = await queue_workers(rt.queues)
    snapshot.providers = await provider_health(rt)
    return snapshot


async def queue_workers(queues: JobQueues) -> dict[str, int]:
    """Worker processes connected to each queue now (bullmq names its connections; Redis's
    CLIENT LIST shows them, two per process, named by host and pid): 0 on a queue means
    nobody will run its jobs."""
    counts = {}
    for name in ALL_QUEUES:
        clients = await queues.queue(name).get_workers()
        # A Redis without CLIENT LIST answers a stand-in entry with no name: counted as 0,
        # so the "no worker alive" alert fires rather than staying silent.
        counts[str(name)] = len({c["rawname"] for c in clients if c.get("rawname")})
    return counts


class SnapshotCollector(Collector):
    """Hands a snapshot taken asynchronously to prometheus_client's synchronous collect()."""

    def __init__(self, snapshot: StateSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self._snapshot
        messages = GaugeMetricFamily(
            "disparo_messages",
            "Recipients of all campaigns by provider and outcome (sent, failed, skipped, "
            "unknown); failed and unknown can go down when an operator retries them.",
            labels=["provider", "status"],
        )
        for (provider, status), value in sorted(s.messages.items()):
            messages.add_metric([provider, status], value)
        yield messages
        yield _by_one_label("disparo_campaigns", "Campaigns by status.", "status", s.campaigns)
        queues = GaugeMetricFamily(
            "disparo_queue_jobs", "Jobs in each queue by state.", labels=["queue", "state"]
        )
        for queue, states in sorted(s.queues.items()):
            for state, value in states.items():
                queues.add_metric([queue, state], value)
        yield queues
        yield _by_one_label(
            "disparo_dead_letters",
            "Batches that spent their attempts (dead letters), waiting for a redrive.",
            "provider",
            s.dead_letters,
        )
        outbox = GaugeMetricFamily(
            "disparo_webhook_outbox", "Webhooks for WordPress by status.", labels=["status"]
        )
        for status in OutboxStatus:
            outbox.add_metric([status.value], s.outbox.get(status.value, 0))
        yield outbox
        yield _by_one_label(
            "disparo_queue_workers",
            "Worker processes connected to each queue (from Redis, so it counts every host).",
            "queue",
            s.workers,
        )
        yield GaugeMetricFamily(
            "disparo_webhook_oldest_undelivered_seconds",
            "Age of the oldest webhook not yet delivered to WordPress (0 when none waits).",
            value=s.oldest_undelivered_age_s,
        )
        yield from provider_families(s.providers)


def _by_one_label(
    name: str, documentation: str, label: str, values: dict[str, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
