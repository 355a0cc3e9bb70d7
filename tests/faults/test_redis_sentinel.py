"""Redis through Sentinel: one master, one replica, three sentinels (Debian's redis-server
and redis-sentinel, on free ports, with a password). The master is killed mid-campaign;
the sentinels promote the replica; the workers, the rate limiter and the test's own
runtime follow. The campaign completes, nobody is sent twice, and the limiter either keeps
its limit or says in a log line that it could not be sure."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from pydantic import SecretStr

from disparo.queues.connection import RedisTarget
from tests.conftest import wait_for
from tests.faults.harness import assert_clean, audit, report, rig
from tests.faults.infra import free_port
from tests.support import busiest_second

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        shutil.which("redis-sentinel") is None, reason="NOT RUN: needs redis-sentinel"
    ),
]

PASSWORD = "sentinel-test-password"
MASTER = "disparo-test"
RATE = 5  # CDA requests per second


class SentinelSet:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.master_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _redis(self, name: str, port: int, *extra: str) -> None:
        data = self.workdir / name
        data.mkdir()
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
        args += ["--save", "", "--requirepass", PASSWORD, "--masterauth", PASSWORD, *extra]
        self._spawn(name, args)
        client = redis.Redis(port=port, password=PASSWORD, socket_timeout=1)
        _until(lambda: client.ping(), f"redis {name}")

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        # No wait before a diskless sync (Redis waits 5 s for more replicas by default).
        self._redis("master", self.master_port, "--repl-diskless-sync-delay", "0")
        self._redis("replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        # A replica still in its first sync would be promoted empty: the queue, the limiter's
        # slots and its replication id gone (Redis losing its data, another test's fault).
        replica = redis.Redis(port=self.replica_port, password=PASSWORD, socket_timeout=1)
        _until(lambda: _info(replica)["master_link_status"] == "up", "replica sync")
        for index, port in enumerate(self.sentinel_ports):
            config = self.workdir / f"sentinel-{index}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel auth-pass {MASTER} {PASSWORD}\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 5000\n"
            )
            self._spawn(f"sentinel-{index}", ["redis-sentinel", str(config)])
        for port in self.sentinel_ports:
            sentinel = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
            _until(lambda s=sentinel: s.sentinel_master(MASTER)["num-slaves"] >= 1, "sentinel")

    @property
    def sentinels(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.sentinel_ports]

    def master_port_now(self) -> int:
        sentinel = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1)
        return int(sentinel.sentinel_get_master_addr_by_name(MASTER)[1])  # type: ignore[no-untyped-call]

    def kill_master(self) -> None:
        """kill -9 once the replica has every write so far: the fault is the failover, not
        the writes asynchronous replication can lose with it."""
        master = redis.Redis(port=self.master_port, password=PASSWORD, socket_timeout=5)
        caught_up = cast(int, master.wait(1, 3000))
        assert caught_up >= 1, "the replica did not catch up"
        self.processes["master"].kill()
        self.processes["master"].wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            process.wait(10)


def _info(client: redis.Redis) -> dict[str, Any]:
    return cast(dict[str, Any], client.info("replication"))


def _until(check: object, what: str, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} not ready within {timeout} s")


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    servers = SentinelSet(tmp_path)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


async def test_the_master_fails_over_mid_campaign(
    tmp_path: Path, pg_url: str, sentinel_set: SentinelSet
) -> None:
    chaos = {"seed": 7, "slow": (0.05, 0.2)}
    settings = {
        "redis_sentinels": sentinel_set.sentinels,
        "redis_sentinel_master": MASTER,
        "redis_password": SecretStr(PASSWORD),
        "cda_batch_size": 5,
        "provider_policies": {"CDA": {"requests_per_second": RATE}},
        "heartbeat_interval": 0.5,
        # Longer than the failover (heartbeats cannot be written meanwhile), as in production.
        "heartbeat_ttl": 8.0,
    }
    async with rig(tmp_path, pg_url, "", workers=2, chaos=chaos, **settings) as the_rig:
        await the_rig.seed_and_dispatch(300)

        async def some_sent() -> bool:
            return len(the_rig.chaos.events) >= 15

        await wait_for(some_sent, timeout=60, interval=0.05)
        before = len(the_rig.chaos.events)
        old_port = sentinel_set.master_port
        sentinel_set.kill_master()

        async def promoted() -> bool:
            return await asyncio.to_thread(sentinel_set.master_port_now) != old_port

        await wait_for(promoted, timeout=60, interval=0.2)
        await the_rig.wait_all_final(timeout=180)
        result = await audit(the_rig)
        arrivals = sorted(event.at for event in the_rig.chaos.events)
        logs = b"".join(path.read_bytes() for path in the_rig.workers.logs)
        alive = the_rig.workers.alive()

    busiest = busiest_second(arrivals)
    detected = logs.count(b'"ratelimit.failover_detected"')
    figures = {"requests_before_failover": before, "busiest_1s_window": busiest,
               "failover_logged": detected, "workers_alive": alive}  # fmt: skip
    report("redis_sentinel_failover", figures | result.as_dict())
    assert alive == [True, True]
    assert_clean(result)
    assert result.by_status["SENT"] + result.by_status["UNKNOWN"] == 300
    assert before < result.requests  # the failover came mid-campaign
    # Held one window after the failover: a limiter that forgot it would allow a second
    # window at once (up to 2 x RATE); one over RATE is arrival jitter on a loaded machine.
    assert busiest <= RATE + 1
    assert detected >= 1  # the promoted replica has a new replication id: the limiter saw it


async def test_a_connection_dropped_by_the_dead_master_reconnects_to_the_new_one(
    sentinel_set: SentinelSet,
) -> None:
    """redis-py alone reconnects a dropped connection to the address it had (the dead
    master) for its whole retry budget, about 76 s; ours asks the sentinels each time."""
    target = RedisTarget(sentinels=tuple(("127.0.0.1", port) for port in
                                         sentinel_set.sentinel_ports),
                         master=MASTER, password=PASSWORD)  # fmt: skip
    client = target.client()
    try:
        await client.set("before", "1")  # a connection to the first master, kept in the pool
        old_port = sentinel_set.master_port
        sentinel_set.kill_master()
        started = time.monotonic()
        await client.set("after", "1")  # on the kept connection: dropped, then reconnected
        took = time.monotonic() - started
        connection = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        port = connection.port
        await client.connection_pool.release(connection)
    finally:
        await client.aclose()
    report("redis_sentinel_reconnect", {"seconds": round(took, 2), "port": port})
    assert port != old_port and port == sentinel_set.master_port_now()
    assert took < 30, f"{took:.1f} s: the retries went to the dead master"
