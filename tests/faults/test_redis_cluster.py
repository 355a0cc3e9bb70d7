"""Redis Cluster: three master nodes (Debian's redis-server in cluster mode, on free ports),
a campaign sent by two workers whose every client (bullmq, the limiter, the heartbeats,
the locks) goes through DISPARO_REDIS_CLUSTER_NODES with a hash-tagged prefix."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.faults.harness import assert_clean, audit, report, rig
from tests.faults.infra import _wait_until, free_port

pytestmark = pytest.mark.faults

PREFIX = "{disparo}"


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10,000) exists and is free too."""
    while True:
        port = free_port()
        if port <= 55_535 and _bindable(port + 10_000):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def cluster_nodes(tmp_path: Path) -> Iterator[list[str]]:
    ports = [_cluster_port() for _ in range(3)]
    processes = []
    try:
        for port in ports:
            data = tmp_path / f"node-{port}"
            data.mkdir()
            args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
            args += ["--cluster-enabled", "yes", "--cluster-config-file", str(data / "nodes.conf")]
            args += ["--save", "", "--appendonly", "no"]
            log = (data / "log").open("wb")
            processes.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        for port in ports:
            _wait_until(lambda p=port: redis.Redis(port=p).ping(), 10, f"cluster node {port}")
        nodes = [f"127.0.0.1:{port}" for port in ports]
        create = ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0"]
        subprocess.run([*create, "--cluster-yes"], check=True, capture_output=True, timeout=60)
        for port in ports:
            node = redis.Redis(port=port, decode_responses=True)
            _wait_until(lambda n=node: n.cluster("info")["cluster_state"] == "ok", 30, "cluster")
        yield nodes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


async def test_a_campaign_runs_on_a_redis_cluster(
    tmp_path: Path, pg_url: str, cluster_nodes: list[str]
) -> None:
    settings = {
        "redis_cluster_nodes": cluster_nodes,
        "queue_prefix": PREFIX,
        "cda_batch_size": 10,
        "provider_policies": {"CDA": {"requests_per_second": 10}},
    }
    chaos = {"seed": 5, "slow": (0.05, 0.2)}
    async with rig(tmp_path, pg_url, "", workers=2, chaos=chaos, **settings) as the_rig:
        await the_rig.seed_and_dispatch(200)
        await the_rig.wait_all_final(timeout=120)
        result = await audit(the_rig)
        log = b"".join(path.read_bytes() for path in the_rig.workers.logs)
    slot = redis.Redis(port=int(cluster_nodes[0].split(":")[1])).cluster("keyslot", PREFIX)
    report("redis_cluster", {"nodes": len(cluster_nodes), "slot": slot} | result.as_dict())
    assert_clean(result)
    assert result.by_status == {"SENT": 200} and result.requests == 20
    assert b'"worker.started"' in log and b'"send.accepted"' in log
