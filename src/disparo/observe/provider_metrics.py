"""Provider accounts' health and breaker state as gauges (campaigns/provider_controls.py):
figures over the last DISPARO_PROVIDER_HEALTH_MINUTES, shared by every worker, so every API
process answers the same."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily

from disparo.campaigns.provider_controls import AccountView

STATES = ("closed", "open", "held")
LABELS = ["provider", "account"]


def provider_families(views: Sequence[AccountView]) -> Iterator[GaugeMetricFamily]:
    state = GaugeMetricFamily(
        "disparo_provider_account_state",
        "1 for the account's circuit breaker state: closed (sending), open (paused after "
        "failures, probing), held (by an operator).",
        labels=[*LABELS, "state"],
    )
    requests = GaugeMetricFamily(
        "disparo_provider_account_requests",
        "Requests to the account over the last minutes, by how they ended (ok, 4xx, 5xx, "
        "timeout, connection, rate_limited, other).",
        labels=[*LABELS, "kind"],
    )
    latency = GaugeMetricFamily(
        "disparo_provider_account_latency_ms",
        "Latency of the account's requests over the last minutes (p50, p95, p99: the upper "
        "bound of their histogram bucket; avg).",
        labels=[*LABELS, "quantile"],
    )
    waits = GaugeMetricFamily(
        "disparo_provider_account_rate_limit_waits",
        "Times the account's shared rate limit held a request back over the last minutes.",
        labels=LABELS,
    )
    for view in views:
        names = [view.provider, view.account]
        for name in STATES:
            state.add_metric([*names, name], 1.0 if view.state == name else 0.0)
        requests.add_metric([*names, "ok"], view.requests - sum(view.errors.values()))
        for kind, count in view.errors.items():
            requests.add_metric([*names, kind], count)
        for quantile, value in view.latency_ms.items():
            latency.add_metric([*names, quantile], value)
        waits.add_metric(names, view.rate_limit_waits)
    yield from (state, requests, latency, waits)
