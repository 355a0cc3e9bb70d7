"""Which send windows a campaign's batches obey, whether one may start now, and the gate
every send and second step passes before its claim (held_by_window).

The window logic itself is pure, free of I/O and clocks, in disparo/sendwindow.py (below
every layer, so the provider policy can parse its own window); it is re-exported here for
callers that estimate a campaign's start and finish (preflight): `next_opening(windows,
at)`, `is_open(windows, at)`, `finish_time(windows, at, duration)`, with `windows_from`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from disparo.campaigns import batches
from disparo.campaigns.batches import BatchKey, Report
from disparo.campaigns.models import Campaign, CampaignStatus
from disparo.config import Settings
from disparo.db.base import utcnow
from disparo.providers.base import Provider
from disparo.providers.policy import ProviderPolicy, policy_for
from disparo.runtime import Runtime
from disparo.sendwindow import (
    SendWindow,
    WindowError,
    always_open,
    finish_time,
    is_open,
    next_opening,
    opening_label,
    parse_window,
)

__all__ = [
    "CAMPAIGN_FIELD",
    "SendWindow",
    "WindowError",
    "WindowHold",
    "campaign_hold",
    "campaign_window",
    "check_campaign_window",
    "finish_time",
    "held_by_window",
    "hold_at",
    "is_open",
    "next_opening",
    "windows_for",
    "windows_from",
]

# The dispatch body field that carries a campaign's own window: optional, an addition to
# CONTRACTS 1 that the panel plugin never sends (README, "Send windows").
CAMPAIGN_FIELD = "janela_envio"


@dataclass(frozen=True, slots=True)
class WindowHold:
    """Closed now: when the windows open together (None: never), shown in `zone`."""

    opens_at: datetime | None
    zone: str
    label: str

    @property
    def reason(self) -> str:
        if self.opens_at is None:
            return "a janela de envio da campanha e a do fornecedor nunca abrem juntas"
        return f"fora da janela de envio; abre {self.label} ({self.zone})"


def campaign_window(settings: Settings, spec: Any) -> SendWindow:
    """A campaign's own window, from the spec stored with it (WindowError if invalid)."""
    return parse_window(
        spec,
        field=CAMPAIGN_FIELD,
        default_zone=settings.send_window_timezone,
        holidays=settings.holidays,
    )


def check_campaign_window(
    settings: Settings, spec: Any, policy: ProviderPolicy, now: datetime
) -> None:
    """A dispatch's window: valid, and open some time together with its provider's."""
    own = campaign_window(settings, spec)
    windows = [own] + ([policy.send_window] if policy.send_window is not None else [])
    if next_opening(windows, now) is None:
        raise WindowError(f"{CAMPAIGN_FIELD}: never open together with the provider's send window")


def windows_for(settings: Settings, campaign: Campaign, policy: ProviderPolicy) -> list[SendWindow]:
    """The windows a campaign's batches obey (windows_from its stored spec)."""
    return windows_from(settings, campaign.send_window, policy)


def windows_from(settings: Settings, spec: Any, policy: ProviderPolicy) -> list[SendWindow]:
    """The campaign's window from its spec (a dispatch's janela_envio; None: none) first, as
    its zone is the one shown, then its provider's; the holidays alone when neither has one.
    A preflight, which has no campaign row yet, calls this with the body's field."""
    windows = []
    if spec is not None:
        windows.append(campaign_window(settings, spec))
    if policy.send_window is not None:
        windows.append(policy.send_window)
    if not windows and settings.holidays:
        windows.append(always_open(settings.send_window_timezone, settings.holidays))
    return windows


def hold_at(windows: list[SendWindow], now: datetime) -> WindowHold | None:
    """None when a batch may start now; else how long it waits."""
    opens_at = next_opening(windows, now)
    if opens_at == now:
        return None
    shown = windows[0]
    label = opening_label(shown, opens_at) if opens_at is not None else "nunca"
    return WindowHold(opens_at, shown.zone, label)


def campaign_hold(
    settings: Settings,
    providers: Mapping[str, Provider],
    campaign: Campaign,
    now: datetime,
    *,
    steps_pending: bool = False,
) -> WindowHold | None:
    """What the campaign shows: held by its windows while it still has sends to start, or
    (`steps_pending`, batch_queries.has_pending_steps) a completed one's second step."""
    running = campaign.status in (CampaignStatus.QUEUED, CampaignStatus.PROCESSING)
    if not running and not (steps_pending and campaign.status == CampaignStatus.COMPLETED):
        return None
    if campaign.paused_at is not None:
        return None  # paused says more than the window
    provider = providers.get(campaign.provider)
    policy = policy_for(settings, provider) if provider is not None else ProviderPolicy()
    return hold_at(windows_for(settings, campaign, policy), now)


async def held_by_window(
    rt: Runtime, campaign: Campaign, policy: ProviderPolicy, key: BatchKey
) -> bool:
    """Checked before the claim, so a batch already in flight when a window closes finishes,
    and one held spends no attempt. True: held (due at the opening) or, when the campaign's
    and the provider's windows never open together, failed with that reason."""
    hold = hold_at(windows_for(rt.settings, campaign, policy), utcnow())
    if hold is None:
        return False
    if hold.opens_at is None:
        await batches.fail(rt, key, Report(hold.reason))
    else:
        await batches.hold_for_window(rt, key, hold.opens_at, hold.reason)
    return True
