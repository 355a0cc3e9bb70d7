"""How long a planned campaign takes to leave, from its provider account's rate limits.

It follows the limiter (providers/ratelimit.py): one slot per batch send, requests/s as a
sliding window of WINDOW_MS, recipients/s as a virtual clock advanced by each batch's
recipient count. Provider latency and retries are not counted: the estimate is the floor
the limits set, which is what dominates a large campaign.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from disparo.providers.plugin import FollowUp
from disparo.providers.policy import ProviderPolicy
from disparo.providers.ratelimit import WINDOW_MS

# "The next moment sending is allowed at or after this one": the send window's opening
# (send windows plug their next_opening in here); by default sending is always allowed.
NextAllowed = Callable[[datetime], datetime]


def always_allowed(at: datetime) -> datetime:
    return at


# When `duration` of sending that starts at a moment ends, pausing while sending is not
# allowed (send windows: sendwindow.finish_time); None when it never ends.
FinishOf = Callable[[datetime, timedelta], datetime | None]


def straight_through(at: datetime, duration: timedelta) -> datetime:
    return at + duration


@dataclass(frozen=True, slots=True)
class Timing:
    earliest_start: datetime
    estimated_finish: datetime
    send_seconds: float
    # The delayed second step (GOSAC start, Marketing Cloud run): its name and due time.
    second_step: str | None = None
    second_step_at: datetime | None = None
    # GOSAC starts each send batch's campaign; Marketing Cloud runs once per agendamento.
    second_step_runs: int = 0


def send_seconds(batch_counts: Sequence[int], policy: ProviderPolicy) -> float:
    """Seconds from the first batch's request to the last one's under the account's limits."""
    if not batch_counts:
        return 0.0
    by_requests = _request_seconds(len(batch_counts), policy.requests_per_second)
    by_recipients = 0.0
    if policy.recipients_per_second > 0:
        # The virtual clock lets a request leave once the ones before it have paid.
        by_recipients = (sum(batch_counts) - batch_counts[-1]) / policy.recipients_per_second
    return max(by_requests, by_recipients)


def _request_seconds(batches: int, rate: float) -> float:
    window = WINDOW_MS / 1000.0
    if rate <= 0:
        return 0.0
    if rate < 1:
        return (batches - 1) * window / rate  # one request per window/rate seconds
    return (math.ceil(batches / int(rate)) - 1) * window


def timing(
    batch_counts: Sequence[int],
    policy: ProviderPolicy,
    now: datetime,
    follow_up: FollowUp | None = None,
    next_allowed: NextAllowed = always_allowed,
    finish_of: FinishOf = straight_through,
) -> Timing:
    """When sending can start, when the last batch leaves, and when the second step runs
    (its delay after the sends, then at the next allowed moment)."""
    start = next_allowed(now)
    seconds = send_seconds(batch_counts, policy)
    finish = finish_of(start, timedelta(seconds=seconds)) or start + timedelta(seconds=seconds)
    if follow_up is None or not batch_counts:
        return Timing(start, finish, seconds)
    step_at = next_allowed(finish + timedelta(seconds=follow_up.delay_s))
    runs = len(batch_counts) if follow_up.per_send_batch else 1
    return Timing(start, finish, seconds, follow_up.step, step_at, runs)
