"""Every queue the service uses, declared once."""

from __future__ import annotations

from enum import StrEnum


class QueueName(StrEnum):
    DISPATCH_CAMPAIGN = "dispatch-campaign"
    CDA_SEND = "cda-send"
    GOSAC_SEND = "gosac-send"
    GOSAC_START = "gosac-start"
    NOAH_SEND = "noah-send"
    RCS_SEND = "rcs-send"
    RCS_OTIMA_SEND = "rcs-otima-send"
    SALESFORCE_SEND = "salesforce-send"
    SALESFORCE_MKC = "salesforce-mkc"
    # Ours, beyond the plan: webhook delivery from the outbox, and the periodic reconciler.
    WEBHOOKS = "webhook-delivery"
    MAINTENANCE = "maintenance"


def dispatch_job_id(agendamento_id: str) -> str:
    return f"dispatch:{agendamento_id}"


def step_job_id(campaign_id: object, step: str, sequence: int, attempt: int) -> str:
    """Deterministic per (batch, claim count): a re-enqueue after a claim gets a fresh id,
    while two enqueues of the same pending batch collapse into one job."""
    return f"campaign:{campaign_id}:{step}:{sequence}:{attempt}"


def webhook_job_id(campaign_key: str, outbox_id: int) -> str:
    return f"webhook:{campaign_key}:{outbox_id}"
