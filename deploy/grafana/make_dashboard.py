"""Writes disparo.json, the Grafana dashboard of disparo's /metrics (run it after changing the
panels; the JSON is committed so that operators import it as it is)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# State gauges come from every API process alike: max() picks one. Counters are per process
# (each API and worker): sum() adds them up.
PANELS: list[tuple[str, str, list[tuple[str, str]], str]] = [
    ("Recipients by provider and outcome", "timeseries",
     [('max by (provider, status) (disparo_messages)', "{{provider}} {{status}}")], "short"),
    ("Send rate (recipients/s)", "timeseries",
     [('max by (provider) (deriv(disparo_messages{status="sent"}[5m]))', "{{provider}}")],
     "short"),
    ("Campaigns by status", "timeseries",
     [("max by (status) (disparo_campaigns)", "{{status}}")], "short"),
    ("Provider requests by outcome (/s)", "timeseries",
     [("sum by (provider, outcome) (rate(disparo_provider_requests_total[5m]))",
       "{{provider}} {{outcome}}")], "reqps"),
    ("Provider latency p50 / p95", "timeseries",
     [("histogram_quantile(0.5, sum by (le, provider) "
       "(rate(disparo_provider_request_seconds_bucket[5m])))", "p50 {{provider}}"),
      ("histogram_quantile(0.95, sum by (le, provider) "
       "(rate(disparo_provider_request_seconds_bucket[5m])))", "p95 {{provider}}")], "s"),
    ("Retries (/min)", "timeseries",
     [("sum by (provider) (rate(disparo_batch_retries_total[5m])) * 60", "{{provider}}")],
     "short"),
    ("Rate-limit waits (/min) and time waited (s/min)", "timeseries",
     [("sum by (provider) (rate(disparo_rate_limit_waits_total[5m])) * 60", "waits {{provider}}"),
      ("sum by (provider) (rate(disparo_rate_limit_wait_seconds_total[5m])) * 60",
       "seconds {{provider}}")], "short"),
    ("Queue depth", "timeseries",
     [('max by (queue, state) (disparo_queue_jobs{state=~"waiting|active|delayed"})',
       "{{queue}} {{state}}")], "short"),
    ("Failed jobs kept in Redis", "timeseries",
     [('max by (queue) (disparo_queue_jobs{state="failed"})', "{{queue}}")], "short"),
    ("Dead letters", "stat", [("sum(max by (provider) (disparo_dead_letters))", "dead letters")],
     "short"),
    ("Webhooks waiting for WordPress", "stat",
     [('max(disparo_webhook_outbox{status="PENDING"})', "pending")], "short"),
    ("Oldest undelivered webhook", "stat",
     [("max(disparo_webhook_oldest_undelivered_seconds)", "age")], "s"),
]  # fmt: skip


def panel(index: int, title: str, kind: str, targets: list[tuple[str, str]], unit: str) -> Any:
    width = 8 if kind == "stat" else 12
    per_row = 24 // width
    return {
        "id": index + 1,
        "title": title,
        "type": kind,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": width, "x": (index % per_row) * width, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {"refId": chr(65 + n), "expr": expr, "legendFormat": legend}
            for n, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, Any]:
    return {
        "title": "disparo",
        "uid": "disparo",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "tags": ["disparo"],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": [panel(i, *spec) for i, spec in enumerate(PANELS)],
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("disparo.json")
    out.write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
