"""The service's own queues; each provider's send and second-step queues are named by its
plugin (providers/registry.py)."""

from __future__ import annotations

from enum import StrEnum


class QueueName(StrEnum):
    DISPATCH_CAMPAIGN = "dispatch-campaign"
    # Ours, beyond the plan: webhook delivery from the outbox, and the periodic reconciler.
    WEBHOOKS = "webhook-delivery"
    MAINTENANCE = "maintenance"
    # Asking a provider what became of an UNKNOWN batch (campaigns/unknown_queries.py).
    UNKNOWN_QUERIES = "unknown-queries"


def dispatch_job_id(agendamento_id: str) -> str:
    return f"dispatch:{agendamento_id}"


def step_job_id(campaign_id: object, step: str, sequence: int, attempt: int) -> str:
    """Deterministic per (batch, claim count): a re-enqueue after a claim gets a fresh id,
    while two enqueues of the same pending batch collapse into one job."""
    return f"campaign:{campaign_id}:{step}:{sequence}:{attempt}"


def webhook_job_id(campaign_key: str, outbox_id: int, attempt: int = 0) -> str:
    """Per (webhook, attempts made): a retry after a failed attempt gets a fresh id."""
    return f"webhook:{campaign_key}:{outbox_id}:{attempt}"
