"""Rolling restart: every worker process is restarted, one at a time, during a campaign, as a
deploy would (SIGTERM, wait for the drain, start the new one, wait until it serves, next).

Each restart is proven to hit work in flight: the stopping worker's own log shows a provider
request that left before its `worker.stopping` line and whose answer was recorded after it.
Nothing is lost, nothing is sent twice (the CDA simulator's request log), and a drained
worker leaves nothing UNKNOWN: a graceful stop is not a crash."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.faults.harness import Rig, assert_clean, audit, report, rig
from tests.faults.infra import RedisServer, Workers

pytestmark = pytest.mark.faults

WORKERS = 3
CAMPAIGNS, RECIPIENTS, BATCH = 2, 500, 5
OUTCOMES = {
    "send.accepted", "send.retryable", "send.rejected", "send.outcome_unknown",
    "send.deadline_exceeded", "send.crashed",
}  # fmt: skip
TRIES_PER_WORKER = 4


@dataclass
class Restart:
    worker: int
    exit_code: int
    drain_s: float
    in_flight_at_stop: int  # provider requests out when SIGTERM arrived, answered after it
    jobs_in_hand: int


def _events(log: Path) -> list[dict[str, object]]:
    lines = log.read_bytes().splitlines()
    return [json.loads(line) for line in lines if line.startswith(b"{")]


def _open_requests(events: list[dict[str, object]]) -> set[object]:
    open_jobs: set[object] = set()
    for event in events:
        if event.get("event") == "send.request":
            open_jobs.add(event.get("job_id"))
        elif event.get("event") in OUTCOMES:
            open_jobs.discard(event.get("job_id"))
    return open_jobs


def _drained(events: list[dict[str, object]]) -> tuple[int, int]:
    """Requests that were out at `worker.stopping` and whose outcome came after it."""
    stop = next(i for i, e in enumerate(events) if e.get("event") == "worker.stopping")
    out_at_stop = _open_requests(events[:stop])
    answered_after = {e.get("job_id") for e in events[stop:] if e.get("event") in OUTCOMES}
    return len(out_at_stop & answered_after), int(str(events[stop].get("jobs_in_hand", 0)))


async def _wait_sending(workers: Workers, index: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _open_requests(_events(workers.logs[index])):
        assert time.monotonic() < deadline, f"worker {index} never had a request in flight"
        await asyncio.sleep(0.02)


async def _restart(workers: Workers, index: int) -> Restart:
    await _wait_sending(workers, index)
    process = workers.processes[index]
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 60)
    drain_s = time.monotonic() - stopped_at
    in_flight, in_hand = _drained(_events(workers.logs[index]))
    # As systemd's `restart` or a new container would: a fresh process in its place.
    workers.processes[index], workers.logs[index] = workers._spawn()

    async def serving() -> bool:
        return index in workers.serving()

    await wait_for(serving, timeout=60, interval=0.1)
    return Restart(index, code, round(drain_s, 2), in_flight, in_hand)


async def _roll(the_rig: Rig) -> list[Restart]:
    """Each worker in turn, until a restart of it caught a request in flight."""
    restarts: list[Restart] = []
    for index in range(WORKERS):
        for _ in range(TRIES_PER_WORKER):
            restarts.append(await _restart(the_rig.workers, index))
            if restarts[-1].in_flight_at_stop:
                break
    return restarts


async def test_rolling_restart_of_every_worker_mid_campaign_loses_and_repeats_nothing(
    tmp_path: Path, pg_url: str, own_redis: RedisServer
) -> None:
    chaos = {"seed": 11, "slow": (0.4, 0.9)}  # replies take a while: work is always in flight
    async with rig(
        tmp_path, pg_url, own_redis.url, workers=WORKERS, chaos=chaos, cda_batch_size=BATCH
    ) as the_rig:
        for _ in range(CAMPAIGNS):
            await the_rig.seed_and_dispatch(RECIPIENTS)
        restarts = await _roll(the_rig)
        requests_during_roll = len(the_rig.cda.requests)
        await the_rig.wait_all_final(timeout=180)
        result = await audit(the_rig)

    report(
        "rolling_restart",
        {
            "restarts": [r.__dict__ for r in restarts],
            "requests_before_last_restart_ended": requests_during_roll,
            **result.as_dict(),
        },
    )
    assert_clean(result)
    assert all(r.exit_code == 0 for r in restarts), restarts
    # The drain lasts as long as the longest request in hand (bounded by the send deadline,
    # 4 s here), plus closing the connections: never the minutes of a stalled-job recovery.
    assert all(r.drain_s < the_rig.settings.send_deadline + 2 for r in restarts), restarts
    # Every worker was restarted while a request of its own was at the provider.
    assert {r.worker for r in restarts if r.in_flight_at_stop} == set(range(WORKERS)), restarts
    # The roll happened mid-campaign, not after it.
    assert requests_during_roll < CAMPAIGNS * RECIPIENTS // BATCH
    # A drained worker leaves nothing SENDING, so nothing becomes UNKNOWN.
    assert result.unknown_batches == 0
    assert result.by_status == {"SENT": CAMPAIGNS * RECIPIENTS}
    # One request per batch in the simulator's own log: none was sent twice.
    assert result.requests == CAMPAIGNS * RECIPIENTS // BATCH
