"""Pure functions: stored recipients -> GOSAC create body; GOSAC answers -> what they mean."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from disparo.providers.base import Recipient
from disparo.providers.gosac.wire import GosacContact, GosacCreateBody
from disparo.providers.text import free_text

DEFAULT_MESSAGE = "Olá"
NO_NAME = "nome vazio: a GOSAC exige o nome do contato"
# JSON `status` values meaning the campaign already runs (5.2).
STARTED_STATUSES = frozenset({"started", "start", "running"})


@dataclass(frozen=True, slots=True)
class CreatePlan:
    body: GosacCreateBody
    # Recipients left out of the request, with why (they count as failed).
    skipped: dict[int, str]


def iso_millis(now: datetime) -> str:
    """2025-01-15T12:30:00.000Z"""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def campaign_name(now: datetime) -> str:
    """campanha_<epoch ms>_<ISO-8601 UTC with ':' and '.' replaced by '-'>"""
    stamp = iso_millis(now).replace(":", "-").replace(".", "-")
    return f"campanha_{int(now.timestamp() * 1000)}_{stamp}"


def build_create(recipients: Sequence[Recipient], campaign_text: str, now: datetime) -> CreatePlan:
    contacts: list[GosacContact] = []
    skipped: dict[int, str] = {}
    for recipient in recipients:
        if not recipient.name.strip() or not recipient.phone.strip():
            skipped[recipient.id] = NO_NAME
            continue
        contacts.append({"name": recipient.name, "number": recipient.phone, "hasWhatsapp": True})
    body: GosacCreateBody = {
        "name": campaign_name(now),
        "message": free_text(campaign_text) or DEFAULT_MESSAGE,
        "kind": "whats",
        "connectionId": None,
        "contacts": contacts,
        "defaultQueueId": 1,
        "initialMinutes": 480,
        "endMinutes": 1140,
        "customProps": [],
        "scheduled": False,
        "scheduledAt": iso_millis(now),
        "speed": "low",
        "tagId": 0,
        "templateId": None,
    }
    return CreatePlan(body, skipped)


def campaign_id_of(answer: Any) -> str | None:
    """The first non-empty of id, campaign_id, campaignId, data.id."""
    if not isinstance(answer, dict):
        return None
    data = answer.get("data")
    candidates = [answer.get("id"), answer.get("campaign_id"), answer.get("campaignId")]
    candidates.append(data.get("id") if isinstance(data, dict) else None)
    for value in candidates:
        if value is not None and not isinstance(value, bool | dict | list) and str(value).strip():
            return str(value).strip()
    return None


def reports_started(answer: Any) -> bool:
    """A JSON body whose `status` says the campaign already runs."""
    if not isinstance(answer, dict):
        return False
    status = answer.get("status")
    return isinstance(status, str) and status.strip().lower() in STARTED_STATUSES


def already_started(status_code: int, text: str, answer: Any) -> bool:
    """A refused start that means "it was already started" (5.2): 409; or 400/422 saying
    "already"/"já", or with a started/running status. Merely mentioning "start" is not it."""
    if status_code == 409:
        return True
    if status_code not in (400, 422):
        return False
    lowered = text.lower()
    return "already" in lowered or "já" in lowered or reports_started(answer)
