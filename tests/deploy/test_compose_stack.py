"""deploy/compose.yaml, for real: podman-compose brings the stack up from the image built
from the Dockerfile, migrate runs, a campaign is dispatched to the simulators (a service of
tests/deploy/compose.sims.yaml, on the compose network) and completes; workers scale to 3;
Redis restarts in the middle of a campaign and it still completes, nobody sent twice."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.deploy.podman import PODMAN, ROOT, Compose, healthy, run, wait_until

API_KEY = "compose-test-api-key-0123456789abcdef"
SECRETS = {
    "DISPARO_ENV": "development",  # the simulators listen on the compose network's addresses
    "POSTGRES_PASSWORD": "pg0123456789abcdef",
    "REDIS_PASSWORD": "redis0123456789abcdef",
    "DISPARO_API_KEYS": API_KEY,
    "DISPARO_WORDPRESS_API_KEY": "compose-test-wordpress-key-0123456789ab",
    "DISPARO_WORDPRESS_URL": "http://sims:8081",
    "DISPARO_WEBHOOK_SECRET": "compose-test-webhook-secret-0123456789",
    "DISPARO_DASHBOARD_SECRET": "compose-test-dashboard-secret-0123456",
    # Each replica its own host port (so the API could scale too, and no fixed port clashes).
    "DISPARO_API_PUBLISH": "127.0.0.1:",
    # Many batches, so that several workers share a campaign and Redis restarts mid-way.
    "DISPARO_CDA_BATCH_SIZE": "500",
    # The monitoring profile's Prometheus, from Debian (scripts/build-base-images.sh).
    "PROMETHEUS_IMAGE": "localhost/prometheus:bookworm",
    "PROMETHEUS_PUBLISH": "127.0.0.1:",
}


FIRST, SECOND = "C20260101000001", "C20260101000002"


class Stack:
    def __init__(self, compose: Compose) -> None:
        self.compose = compose
        api = compose.containers("api")[0]
        sims = compose.containers("sims")[0]
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{compose.host_port(api, 8000)}",
            headers={"X-API-KEY": API_KEY},
            timeout=30,
        )
        self.wordpress = httpx.Client(
            base_url=f"http://127.0.0.1:{compose.host_port(sims, 8081)}", timeout=30
        )
        self.sims = httpx.Client(
            base_url=f"http://127.0.0.1:{compose.host_port(sims, 8089)}", timeout=30
        )

    def cda(self, message: str) -> dict[str, int]:
        """What the CDA simulator received for the campaign with this message text."""
        empty = {"requests": 0, "lines": 0, "distinct": 0}
        summary: dict[str, dict[str, int]] = self.sims.get("/_sims/cda").json()
        return summary.get(message, empty)

    def dispatch(self, agendamento_id: str, count: int) -> str:
        """A campaign whose message text is its agendamento_id (see cda())."""
        spec = {"agendamento_id": agendamento_id, "count": count, "message": agendamento_id}
        seeded = self.wordpress.post("/_sim/campaigns", json=spec)
        assert seeded.status_code == 201, seeded.text
        answer = self.api.post("/campaigns/dispatch", json={"agendamento_id": agendamento_id})
        assert answer.status_code in (200, 201, 202), answer.text
        campaign_id: str = answer.json()["campaign_id"]
        return campaign_id

    def status(self, campaign_id: str) -> dict[str, Any]:
        try:
            answer = self.api.get(f"/campaigns/{campaign_id}/status")
        except httpx.TransportError:
            return {"status": "unreachable"}
        return dict(answer.json()) if answer.status_code == 200 else {"status": answer.text}

    def wait_completed(self, campaign_id: str, timeout: float) -> dict[str, Any]:
        wait_until(
            f"campaign {campaign_id} COMPLETED",
            lambda: self.status(campaign_id)["status"] in ("COMPLETED", "FAILED"),
            timeout,
        )
        return self.status(campaign_id)


@pytest.fixture
def stack(disparo_image: str) -> Iterator[Stack]:
    compose = Compose(
        project=f"disparotest{os.getpid()}",
        env={**SECRETS, "DISPARO_IMAGE": disparo_image},
        files=[ROOT / "tests/deploy/compose.sims.yaml"],
    )
    started = time.monotonic()
    try:
        compose("up", "-d")
        print(f"\ncompose up -d: {time.monotonic() - started:.1f} s")
        running = Stack(compose)
        wait_until("API /ready", lambda: _ready(running), 120)
        yield running
    finally:
        compose.remove_everything()
        left = run(
            [*PODMAN, "ps", "-aq", "--filter", f"label=io.podman.compose.project={compose.project}"]
        )
        assert left.split() == [], "containers left behind"


def _prometheus_scrapes_every_process(compose: Compose, *, api: int, workers: int) -> None:
    """The monitoring profile's Prometheus finds every replica by DNS and scrapes it."""
    compose("--profile", "monitoring", "up", "-d", "--no-deps", "prometheus")
    prometheus = compose.containers("prometheus")[0]
    url = f"http://127.0.0.1:{compose.host_port(prometheus, 9090)}/api/v1/targets"

    def targets_up() -> dict[str, int]:
        try:
            active = httpx.get(url, timeout=5).json()["data"]["activeTargets"]
        except (httpx.TransportError, ValueError, KeyError):
            return {}
        up: dict[str, int] = {}
        for target in active:
            if target["health"] == "up":
                job = target["labels"]["job"]
                up[job] = up.get(job, 0) + 1
        return up

    expected = {"disparo-api": api, "disparo-worker": workers}
    waited = wait_until("Prometheus scraping every replica", lambda: targets_up() == expected, 90)
    print(f"Prometheus scraped {expected} after {waited:.0f} s")


def _ready(stack: Stack) -> bool:
    return _answers_ready(stack.api)


def _answers_ready(client: httpx.Client) -> bool:
    try:
        return client.get("/ready", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_compose_stack_migrates_dispatches_scales_and_survives_a_redis_restart(
    stack: Stack,
) -> None:
    compose = stack.compose
    started = time.monotonic()

    # migrate: the one-shot ran before the API answered; running it again is a no-op.
    assert "schema up to date" in compose("run", "--rm", "--no-deps", "migrate")

    first = stack.dispatch(FIRST, 3_000)
    final = stack.wait_completed(first, 120)
    assert (final["status"], final["sent_messages"]) == ("COMPLETED", 3_000), final
    assert stack.cda(FIRST) == {"requests": 6, "lines": 3_000, "distinct": 3_000}

    compose("up", "-d", "--scale", "worker=3")
    wait_until("3 workers running", lambda: len(compose.containers("worker")) == 3, 120)
    workers = compose.containers("worker")
    for worker in workers:  # each one's health check (its metrics port) passes
        wait_until(f"{worker} healthy", functools.partial(healthy, worker), 60)
    _prometheus_scrapes_every_process(compose, api=1, workers=3)

    # 30,000 recipients in 60 requests, each answered after 1 s: Redis restarts mid-way.
    assert stack.sims.post("/_sims/cda/delay", json={"seconds": 1.0, "count": 60}).is_success
    second = stack.dispatch(SECOND, 30_000)
    wait_until("the second campaign under way", lambda: stack.cda(SECOND)["requests"] >= 3, 120)
    redis = compose.containers("redis")[0]
    run([*PODMAN, "restart", "-t", "10", redis])
    during = stack.cda(SECOND)["requests"]
    print(f"Redis restarted after {during} of the second campaign's 60 requests")
    assert during < 60, "Redis restarted after the campaign had finished sending"
    final = stack.wait_completed(second, 600)
    assert (final["status"], final["sent_messages"]) == ("COMPLETED", 30_000), final
    # Nobody twice: every line the CDA simulator received is distinct, and all arrived.
    assert stack.cda(SECOND) == {"requests": 60, "lines": 30_000, "distinct": 30_000}
    sends = {w: run([*PODMAN, "logs", w], check=False).count('"send.accepted"') for w in workers}
    print(f"batches accepted per worker: {sends}")
    assert sum(1 for count in sends.values() if count) >= 2, "the scaled workers did not share"
    # The API scales too: each replica on a host port of its own (DISPARO_API_PUBLISH).
    compose("up", "-d", "--scale", "api=2")
    wait_until("2 API replicas", lambda: len(compose.containers("api")) == 2, 120)
    for api in compose.containers("api"):
        client = httpx.Client(base_url=f"http://127.0.0.1:{compose.host_port(api, 8000)}")
        with client:
            wait_until(f"{api} ready", functools.partial(_answers_ready, client), 60)
    print(f"stack test after compose up: {time.monotonic() - started:.1f} s")
