"""The monitoring half of deploy/ that the stack test does not start (no Prometheus or
Grafana image can be pulled here): the scrape config is valid for promtool and the compose
file wires Prometheus and Grafana to it and to the dashboard."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.podman import ROOT

DEPLOY = ROOT / "deploy"


def test_prometheus_config_is_valid_and_scrapes_every_api_and_worker(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool missing (Debian: apt-get install prometheus)")
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in config["scrape_configs"]}
    assert {name: (sd["names"], sd["port"]) for name, sd in jobs.items()} == {
        "disparo-api": (["api"], 9100),
        "disparo-worker": (["worker"], 9100),
    }
    # The rule file is the operations part of deploy/; an empty one stands in until it exists.
    rules = DEPLOY / "prometheus/alerts.yml"
    local = tmp_path / "prometheus.yml"
    config["rule_files"] = [str(rules if rules.exists() else tmp_path / "alerts.yml")]
    if not rules.exists():
        (tmp_path / "alerts.yml").write_text("groups: []\n")
    local.write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        ["promtool", "check", "config", str(local)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_wires_monitoring_to_the_scrape_config_and_the_dashboard() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    grafana_volumes = services["grafana"]["volumes"]
    assert "./grafana/disparo.json:/var/lib/grafana/dashboards/disparo.json:ro" in grafana_volumes
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/disparo.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert json.loads((DEPLOY / "grafana/disparo.json").read_text())["uid"] == "disparo"
    redis = " ".join(services["redis"]["command"])
    for setting in ("--appendonly yes", "--appendfsync everysec", "--maxmemory-policy noeviction"):
        assert setting in redis
    for service in ("api", "worker"):
        assert services[service]["environment"]["DISPARO_METRICS_PORT"] == "9100"
