"""How the dashboard words a campaign: the rate over the last minute, the ETA (or why there
is none), a FAILED campaign's bar, plurals and empty fields."""

from __future__ import annotations

import uuid
from datetime import timedelta

from disparo.campaigns.models import Campaign, CampaignStatus
from disparo.campaigns.windows import WindowHold
from disparo.dashboard.views import EMPTY, campaign_view, counted, shown
from disparo.db.base import utcnow

NOW = utcnow()


def _campaign(
    status: CampaignStatus, total: int, sent: int, failed: int = 0, **more: object
) -> Campaign:
    return Campaign(
        id=uuid.uuid4(),
        agendamento_id="C1",
        provider="CDA",
        status=status,
        total_messages=total,
        sent_messages=sent,
        failed_messages=failed,
        skipped_messages=0,
        unknown_messages=0,
        created_at=NOW - timedelta(minutes=5),
        started_at=NOW - timedelta(minutes=5),
        **more,
    )


def test_plurals_and_empty_fields() -> None:
    assert counted(1, "batch") == "1 batch"
    assert counted(2, "batch") == "2 batches"
    assert counted(0, "recipient") == "0 recipients"
    assert counted(1_000, "pending batch") == "1,000 pending batches"
    assert counted(3, "request") == "3 requests"
    assert [shown(v) for v in (None, "", "  ", 0, "x")] == [EMPTY, EMPTY, EMPTY, "0", "x"]


def test_rate_is_the_last_minute_and_eta_what_is_left_at_it() -> None:
    running = _campaign(CampaignStatus.PROCESSING, 1000, 400)
    view = campaign_view(running, NOW, sent_last_minute=120)
    assert (view["rate"], view["eta"]) == ("120/min", "5m 00s")  # 600 left at 120 a minute
    assert view["percent"] == "40%"
    stalled = campaign_view(running, NOW, sent_last_minute=0)
    assert (stalled["rate"], stalled["eta"]) == ("0/min", EMPTY)


def test_paused_reads_zero_and_held_says_until_when() -> None:
    paused = _campaign(CampaignStatus.PROCESSING, 1000, 400, paused_at=NOW)
    view = campaign_view(paused, NOW, sent_last_minute=200)  # the batch in flight finished
    assert (view["rate"], view["eta"]) == ("0/min", EMPTY)
    held = _campaign(CampaignStatus.PROCESSING, 1000, 400)
    hold = WindowHold(NOW + timedelta(hours=9), "America/Sao_Paulo", "Mon 08:00")
    assert campaign_view(held, NOW, hold, 0)["eta"] == "held until Mon 08:00"


def test_a_failed_campaign_shows_what_was_sent_not_100_percent() -> None:
    failed = _campaign(CampaignStatus.FAILED, 150, 30, failed=120)
    view = campaign_view(failed, NOW, sent_last_minute=30)
    assert view["percent"] == "20% sent" and view["progress_value"] == 30
    assert (view["rate"], view["eta"]) == ("0/min", EMPTY)
    done = campaign_view(_campaign(CampaignStatus.COMPLETED, 150, 150), NOW)
    assert (done["percent"], done["eta"], done["progress_value"]) == ("100%", EMPTY, 150)


def test_a_campaign_younger_than_a_minute_is_measured_over_its_age() -> None:
    young = _campaign(CampaignStatus.PROCESSING, 1000, 400)
    young.started_at = NOW - timedelta(seconds=20)
    assert campaign_view(young, NOW, sent_last_minute=400)["rate"] == "1,200/min"
    young.started_at = NOW - timedelta(seconds=1)  # no fewer than 10 s
    assert campaign_view(young, NOW, sent_last_minute=400)["rate"] == "2,400/min"
