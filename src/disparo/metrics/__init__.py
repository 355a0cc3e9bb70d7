"""Prometheus metrics. Two kinds, on purpose:

- events counted by the process that lives them (provider requests and their latency,
  retries, rate-limit waits): each `disparo worker` has its own, summed by Prometheus;
- the state of the whole system read from the database and Redis when scraped (messages by
  provider and status, queue depths, dead letters, the webhook outbox): the same from
  whichever API process answers, and exact after any restart (disparo/observe/state.py).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from time import monotonic

from prometheus_client import Counter, Histogram

from disparo.errors import classify

PROVIDER_REQUESTS = Counter(
    "disparo_provider_requests",
    "Requests sent to a provider, by how they ended.",
    ["provider", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "disparo_provider_request_seconds",
    "Time from sending a batch to the provider's answer (or to giving up on it).",
    ["provider", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
RETRIES = Counter(
    "disparo_batch_retries",
    "Batches put back to be sent again later (the provider did not act on them).",
    ["provider"],
)
RATE_LIMIT_WAITS = Counter(
    "disparo_rate_limit_waits",
    "Times the shared rate limiter held a batch back (the account's limit was taken, or a "
    "429's Retry-After paused it): a wait in the worker or a batch deferred until later.",
    ["provider"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "disparo_rate_limit_wait_seconds",
    "Seconds of those waits.",
    ["provider"],
)
API_REQUESTS_SHED = Counter(
    "disparo_api_requests_shed",
    "API requests refused with 503 because the process was at capacity (disparo.admission).",
)


def outcome_of(error: BaseException | None) -> str:
    """The request's `outcome` label: accepted, or how errors.classify sorts its error
    (deadline = no whole answer within DISPARO_SEND_DEADLINE)."""
    return "accepted" if error is None else classify(error).value


@contextmanager
def provider_request(provider: str) -> Iterator[None]:
    """Count and time one provider request; the exception, if any, says how it ended."""
    started = monotonic()
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        outcome = outcome_of(error)
        PROVIDER_REQUESTS.labels(provider, outcome).inc()
        PROVIDER_LATENCY.labels(provider, outcome).observe(monotonic() - started)


def record_rate_limit_wait(account: str, seconds: float) -> None:
    """`account` is the limiter's "PROVIDER:digest"; only the provider becomes a label."""
    provider = account.partition(":")[0]
    RATE_LIMIT_WAITS.labels(provider).inc()
    RATE_LIMIT_WAIT_SECONDS.labels(provider).inc(max(0.0, seconds))


def record_retry(provider: str) -> None:
    RETRIES.labels(provider).inc()


DELIVERY_CALLBACKS = Counter(
    "disparo_delivery_callbacks",
    "Delivery receipts committed from the providers' status callbacks, by the status they "
    "reported (a repeat or an older status is counted here but changes nothing).",
    ["status"],
)
REPLIES = Counter("disparo_replies", "Recipients' replies (MO callbacks) stored.")


def record_delivery_callbacks(statuses: Iterable[str], replies: int) -> None:
    for status, count in Tally(statuses).items():
        DELIVERY_CALLBACKS.labels(status).inc(count)
    if replies:
        REPLIES.inc(replies)
