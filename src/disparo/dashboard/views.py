"""What a campaign looks like on the dashboard: the same figures for the HTML page and for
the JSON its script polls, so a live update shows exactly what a reload would."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from disparo.campaigns.models import TERMINAL_CAMPAIGN, Campaign, CampaignStatus, ProviderBatch
from disparo.campaigns.windows import WindowHold

MIN_RATE_SECONDS = 10.0
# What an empty field shows, everywhere: never "None", "null" or a blank cell.
EMPTY = "–"


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
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else EMPTY


def number(value: int) -> str:
    return f"{value:,}"


def counted(count: int, word: str) -> str:
    """ "1 batch", "2 batches", "1,000 recipients" (every word the dashboard counts takes
    -es after ch, sh, s or x and -s otherwise)."""
    if count == 1:
        return f"{count:,} {word}"
    suffix = "es" if word.endswith(("ch", "sh", "s", "x")) else "s"
    return f"{count:,} {word}{suffix}"


def shown(value: object) -> str:
    """A field as a cell shows it: EMPTY for None or blank."""
    return EMPTY if value is None or str(value).strip() == "" else str(value)


def per_minute(campaign: Campaign, sent_last_minute: int, now: datetime) -> int:
    """Recipients a minute over the last 60 s (queries.sent_last_minute): real events, not
    an average since the start, so a campaign that stopped reads 0 at once. A campaign that
    started less than a minute ago has had less than a minute to send (no fewer than 10 s
    are counted, or its first batch would read as a flood). Paused reads 0: the batch still
    in flight is not the campaign moving."""
    if campaign.paused_at is not None or campaign.status in TERMINAL_CAMPAIGN:
        return 0
    if campaign.started_at is None or not sent_last_minute:
        return 0
    running = (now - campaign.started_at).total_seconds()
    seconds = min(max(running, MIN_RATE_SECONDS), 60.0)
    return round(sent_last_minute * 60 / seconds)


def eta(campaign: Campaign, rate: int, hold: WindowHold | None) -> str:
    """When the rest would be done at the last minute's rate; why there is no such time."""
    if campaign.status in TERMINAL_CAMPAIGN:
        return EMPTY
    if hold is not None:
        return f"held until {hold.label}" if hold.opens_at else "held: the windows never open"
    left = campaign.total_messages - _done(campaign)
    if rate <= 0 or left <= 0:
        return EMPTY
    return duration(left / rate * 60)


def _done(campaign: Campaign) -> int:
    return (
        campaign.sent_messages
        + campaign.failed_messages
        + campaign.skipped_messages
        + campaign.unknown_messages
    )


def _progress(campaign: Campaign) -> tuple[int, str]:
    """(the bar's value, its label). A FAILED campaign's bar is what was sent ("12% sent"),
    not the 100% of recipients that reached an end: most of them ended failed."""
    total = campaign.total_messages
    if campaign.status == CampaignStatus.FAILED:
        sent = campaign.sent_messages
        return sent, f"{(sent / total * 100 if total else 0):.0f}% sent"
    done = _done(campaign)
    if not total:
        return (1 if campaign.status in TERMINAL_CAMPAIGN else 0), "0%"
    return done, f"{done / total * 100:.0f}%"


def window_wait(hold: WindowHold | None) -> str:
    """What a campaign held by its send window says, in the window's zone; "" when not held."""
    if hold is None:
        return ""
    if hold.opens_at is None:
        return "waiting for window: its windows never open together"
    return f"waiting for window, opens {hold.label}"


def campaign_view(
    campaign: Campaign, now: datetime, hold: WindowHold | None = None, sent_last_minute: int = 0
) -> dict[str, Any]:
    total = campaign.total_messages
    rate = per_minute(campaign, sent_last_minute, now)
    progress, percent = _progress(campaign)
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
        "done": _done(campaign),
        "progress_max": max(total, 1),
        "progress_value": progress,
        "percent": percent,
        "rate": f"{rate:,}/min",
        "eta": eta(campaign, rate, hold),
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
        # One column, "Finished / due": when it ended, or when a waiting one is due.
        "finished_at": when(batch.finished_at or batch.due_at),
        "due_at": when(batch.due_at),
        "reference": shown(batch.provider_reference),
        "last_error": shown(batch.last_error),
    }
