"""What a campaign looks like on the dashboard: the same figures for the HTML page and for
the JSON its script polls, so a live update shows exactly what a reload would."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from disparo.campaigns.models import TERMINAL_CAMPAIGN, Campaign, ProviderBatch
from disparo.campaigns.windows import WindowHold


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def number(value: int) -> str:
    return f"{value:,}"


def send_rate(campaign: Campaign, now: datetime) -> float | None:
    """Recipients the provider took per second, from the first claim to the end (or now)."""
    if campaign.started_at is None:
        return None
    end = campaign.completed_at or now
    elapsed = (end - campaign.started_at).total_seconds()
    return campaign.sent_messages / elapsed if elapsed > 0 else None


def window_wait(hold: WindowHold | None) -> str:
    """What a campaign held by its send window says, in the window's zone; "" when not held."""
    if hold is None:
        return ""
    if hold.opens_at is None:
        return "waiting for window: its windows never open together"
    return f"waiting for window, opens {hold.label}"


def campaign_view(
    campaign: Campaign, now: datetime, hold: WindowHold | None = None
) -> dict[str, Any]:
    total = campaign.total_messages
    done = (
        campaign.sent_messages
        + campaign.failed_messages
        + campaign.skipped_messages
        + campaign.unknown_messages
    )
    rate = send_rate(campaign, now)
    return {
        "id": str(campaign.id),
        "agendamento_id": campaign.agendamento_id,
        "status": campaign.status.value,
        "paused": campaign.paused_at is not None,
        "provider": campaign.provider,
        "final": campaign.status in TERMINAL_CAMPAIGN,
        "total": number(total),
        "sent": number(campaign.sent_messages),
        "failed": number(campaign.failed_messages),
        "skipped": number(campaign.skipped_messages),
        "unknown": number(campaign.unknown_messages),
        "done": done,
        "progress_max": max(total, 1),
        "progress_value": done if total else (1 if campaign.status in TERMINAL_CAMPAIGN else 0),
        "percent": f"{(done / total * 100 if total else 0):.0f}%",
        "rate": f"{rate:,.0f}/s" if rate is not None else "–",
        "age": duration((now - campaign.created_at).total_seconds()),
        "created_at": when(campaign.created_at),
        "started_at": when(campaign.started_at),
        "completed_at": when(campaign.completed_at),
        "error_message": campaign.error_message or "",
        "window_wait": window_wait(hold),
    }


def batch_view(batch: ProviderBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "sequence": batch.sequence,
        "step": batch.step,
        "status": batch.status.value,
        "recipients": number(batch.message_count),
        "sent": number(batch.sent_count),
        "failed": number(batch.failed_count),
        "attempts": batch.attempts,
        "claimed_at": when(batch.claimed_at),
        "finished_at": when(batch.finished_at),
        "due_at": when(batch.due_at),
        "reference": batch.provider_reference or "",
        "last_error": batch.last_error or "",
    }
