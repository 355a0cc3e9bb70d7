"""The preflight's pure parts: the rate-limit timing, the reason counters, requests per batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from disparo.campaigns.estimate import send_seconds, timing
from disparo.campaigns.preflight import requests_for
from disparo.campaigns.preflight_report import (
    MAX_EXAMPLES,
    PreflightReport,
    Problem,
    ReasonTally,
    mask_phone,
)
from disparo.campaigns.rows import reason_kind
from disparo.providers.plugin import FollowUp
from disparo.providers.policy import ProviderPolicy
from disparo.providers.registry import BY_CODE

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("batches", "policy", "seconds"),
    [
        ([100] * 5, ProviderPolicy(), 0.0),  # no limit: all at once
        ([100] * 5, ProviderPolicy(requests_per_second=2), 2.2),  # windows of 1.1 s
        ([100] * 4, ProviderPolicy(requests_per_second=2), 1.1),
        ([100] * 3, ProviderPolicy(requests_per_second=0.5), 4.4),  # one per 2.2 s
        ([100, 100, 50], ProviderPolicy(recipients_per_second=50), 4.0),  # pays before leaving
        ([100] * 3, ProviderPolicy(requests_per_second=10, recipients_per_second=100), 2.0),
        ([], ProviderPolicy(requests_per_second=1), 0.0),
    ],
)
def test_send_seconds_follow_the_limiter(
    batches: list[int], policy: ProviderPolicy, seconds: float
) -> None:
    assert send_seconds(batches, policy) == pytest.approx(seconds)


def test_timing_starts_at_the_next_allowed_moment_and_the_second_step_waits_its_delay() -> None:
    step = FollowUp("mkc", 1200.0, 30.0, 3, False, False, "X", None, "erro", True)
    opening = NOW + timedelta(hours=4)

    def next_allowed(at: datetime) -> datetime:
        return max(at, opening)

    planned = timing([200] * 3, ProviderPolicy(requests_per_second=1), NOW, step, next_allowed)
    unlimited = timing([200], ProviderPolicy(), NOW)

    assert planned.earliest_start == opening
    assert planned.estimated_finish == opening + timedelta(seconds=2.2)
    assert planned.second_step_at == opening + timedelta(seconds=2.2 + 1200)
    assert planned.second_step_runs == 1
    per_batch = FollowUp("start", 120.0, 30.0, 3, True, True, "X", None, "erro", False)
    assert timing([10] * 4, ProviderPolicy(), NOW, per_batch).second_step_runs == 4
    assert (unlimited.earliest_start, unlimited.estimated_finish) == (NOW, NOW)
    assert unlimited.second_step is None


def test_a_reason_keeps_its_count_but_only_the_first_examples() -> None:
    tally = ReasonTally()
    for index in range(10_000):
        tally.add(f"telefone inválido: '{index}'", index, str(index))
    tally.add("telefone ausente", 10_000, "")

    invalid, missing = tally.summary()

    assert (invalid.reason, invalid.count) == ("telefone inválido", 10_000)
    assert [e.row for e in invalid.examples] == list(range(MAX_EXAMPLES))
    assert (missing.reason, missing.count, missing.examples[0].phone) == ("telefone ausente", 1, "")


def test_phones_are_masked_and_reasons_lose_their_detail() -> None:
    assert mask_phone("5511987654321") == "5511*****4321"
    assert mask_phone("551187654321") == "5511****4321"
    assert mask_phone("12345") == "*****"
    assert reason_kind("telefone inválido: 'abc: d'") == "telefone inválido"
    assert reason_kind("opt-out") == "opt-out"


def test_requests_per_batch_follow_the_adapter() -> None:
    otima = BY_CODE["RCS_OTIMA"].adapter(BY_CODE["RCS_OTIMA"].load_settings())
    cda = BY_CODE["CDA"].adapter(BY_CODE["CDA"].load_settings())

    assert [requests_for(otima, n) for n in (1, 1000, 1001, 2500)] == [1, 1, 2, 3]
    assert requests_for(cda, 100_000) == 1


def test_would_dispatch_needs_someone_to_send_to_and_nothing_blocking() -> None:
    report = PreflightReport(agendamento_id="C1", provider="CDA", valid=3)
    assert report.would_dispatch is True
    report.problems.append(Problem(phase="credenciais", message="x", blocking=False))
    assert report.would_dispatch is True
    report.problems.append(Problem(phase="credenciais", message="y"))
    assert report.would_dispatch is False
    assert PreflightReport(agendamento_id="C1", provider="CDA").would_dispatch is False
