"""/metrics after campaigns whose outcome we know: the numbers match what the simulators saw."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from disparo.config import Settings
from disparo.devstack import DevStack
from disparo.observe.endpoint import start_metrics_server
from disparo.providers.registry import ALL_QUEUES
from tests.conftest import API_KEY, StackFactory, wait_for
from tests.e2e.helpers import CAMPAIGN, dispatch, wait_final, webhooks_delivered

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _get(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def _counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _scrape(stack: DevStack) -> Samples:
    async with httpx.AsyncClient(base_url=stack.api.url) as client:
        answer = await client.get("/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return _parse(answer.text)


async def test_metrics_after_a_known_campaign(stack_factory: StackFactory) -> None:
    stack = await stack_factory(cda_batch_size=10)
    requests_before = _counter(
        "disparo_provider_requests_total", provider="CDA", outcome="accepted"
    )
    latency_before = _counter(
        "disparo_provider_request_seconds_count", provider="CDA", outcome="accepted"
    )
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 40)
    rows[3]["telefone"] = "abc"
    rows[5]["telefone"] = ""
    stack.wordpress.add_campaign(CAMPAIGN, rows)
    await dispatch(stack, CAMPAIGN)
    await wait_final(stack, CAMPAIGN, webhooks=2)
    await wait_for(lambda: _delivered(stack, 2))
    await wait_for(lambda: webhooks_delivered(stack))  # the outbox gauge reads these

    samples = await _scrape(stack)
    received = sum(len(campaign.mensagens) for campaign in stack.cda.imported)
    assert received == 38
    assert _get(samples, "disparo_messages", provider="CDA", status="sent") == received
    assert _get(samples, "disparo_messages", provider="CDA", status="skipped") == 2
    assert _get(samples, "disparo_messages", provider="CDA", status="failed") == 0
    assert _get(samples, "disparo_campaigns", status="COMPLETED") == 1
    requests = len(stack.cda.requests)
    assert requests == 4  # 38 recipients in batches of 10
    assert (
        _get(samples, "disparo_provider_requests_total", provider="CDA", outcome="accepted")
        - requests_before
        == requests
    )
    assert (
        _get(samples, "disparo_provider_request_seconds_count", provider="CDA", outcome="accepted")
        - latency_before
        == requests
    )
    for queue in ALL_QUEUES:
        assert ("disparo_queue_jobs", (("queue", str(queue)), ("state", "waiting"))) in samples
    assert _get(samples, "disparo_queue_jobs", queue="cda-send", state="completed") == requests
    # The stack's one worker process serves every queue (alerts.yml: no worker alive).
    for queue in ALL_QUEUES:
        assert _get(samples, "disparo_queue_workers", queue=str(queue)) == 1
    assert _get(samples, "disparo_webhook_outbox", status="DELIVERED") == 2
    assert _get(samples, "disparo_webhook_outbox", status="PENDING") == 0
    assert _get(samples, "disparo_webhook_oldest_undelivered_seconds") == 0
    assert ("disparo_dead_letters", (("provider", "CDA"),)) not in samples


async def _delivered(stack: DevStack, count: int) -> bool:
    return len(stack.wordpress.webhooks_for(CAMPAIGN)) >= count


async def test_retries_rate_limit_waits_and_dead_letters_are_counted(
    stack_factory: StackFactory,
) -> None:
    """Two batches, one worker, two attempts each. A 429 with Retry-After (a retry, and the
    account paused for every worker: the next batch waits), a 503 (a retry), then a 503 for
    whichever retry comes first: it has spent its attempts, a dead letter."""
    stack = await stack_factory(cda_batch_size=10, cda_max_attempts=2, worker_concurrency=1)
    retries = _counter("disparo_batch_retries_total", provider="CDA")
    waits = _counter("disparo_rate_limit_waits_total", provider="CDA")
    stack.wordpress.seed_campaign(CAMPAIGN, 20)
    stack.cda.fail_next(429, retry_after=1)
    stack.cda.fail_next(503, count=2)
    await dispatch(stack, CAMPAIGN)
    final = await wait_final(stack, CAMPAIGN, webhooks=2)
    assert (final["sent_messages"], final["failed_messages"]) == (10, 10)
    assert _counter("disparo_batch_retries_total", provider="CDA") - retries == 2
    assert _counter("disparo_rate_limit_waits_total", provider="CDA") - waits >= 1
    samples = await _scrape(stack)
    assert _get(samples, "disparo_dead_letters", provider="CDA") == 1
    assert _get(samples, "disparo_messages", provider="CDA", status="failed") == 10


async def test_metrics_need_a_key_on_the_api(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    async with httpx.AsyncClient(base_url=stack.api.url) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.get("/metrics", headers={"X-API-KEY": "rotated-key"})
        assert ok.status_code == 200 and "disparo_queue_jobs" in ok.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_metrics_port_of_its_own_answers_without_a_key(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    port = _free_port()
    settings: Settings = stack.runtime.settings.model_copy(update={"metrics_port": port})
    stack.runtime.settings = settings
    for with_state in (True, False):  # an API process, a worker process
        server = await start_metrics_server(stack.runtime, with_state=with_state)
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{port}/metrics")
        finally:
            await server.stop()
        assert answer.status_code == 200
        assert "disparo_provider_requests" in answer.text
        assert ("disparo_queue_jobs" in answer.text) is with_state


def _grafana_metric_names() -> set[str]:
    board = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "disparo.json"
    exprs = [t["expr"] for p in json.loads(board.read_text())["panels"] for t in p["targets"]]
    return {_family(name) for expr in exprs for name in re.findall(r"disparo_\w+", expr)}


def _family(name: str) -> str:
    return re.sub(r"_(bucket|count|sum|total)$", "", name)


async def test_the_grafana_dashboard_uses_only_metrics_we_export(
    stack_factory: StackFactory,
) -> None:
    used = _grafana_metric_names()
    stack = await stack_factory(with_worker=False)
    async with httpx.AsyncClient(base_url=stack.api.url) as client:
        text = (await client.get("/metrics", headers={"X-API-KEY": API_KEY})).text
    exported = {_family(name) for name in re.findall(r"^# TYPE (disparo_\w+)", text, re.M)}
    assert len(used) >= 10
    assert used <= exported, used - exported
