"""A worker's host cut off with a request handed to the kernel but not yet at the provider.
Without a bound, the kernel keeps retransmitting it and delivers it once the link is back,
long after the batch was judged and while other hosts fill the account's rate limit. With
DISPARO_OUTBOUND_UNACKED_TIMEOUT the connection dies instead and the request never arrives.
Two hosts as network namespaces; the same cut, with a short bound and a long one."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.faults.hosts import can_build_hosts, network_of
from tests.faults.infra import _wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(can_build_hosts() is not None, reason=f"NOT RUN: {can_build_hosts()}"),
]

PORT = 8400
MODULE = [sys.executable, "-m", "tests.faults.cut_request"]


@pytest.mark.parametrize(
    ("unacked_timeout", "arrives"),
    [(2.0, False), (60.0, True)],
    ids=["bounded-dies", "unbounded-arrives-late"],
)
def test_a_request_cut_off_before_the_provider_never_arrives_after_the_link_is_back(
    tmp_path: Path, unacked_timeout: float, arrives: bool
) -> None:
    with network_of(["c", "s"]) as net:
        s = net.hosts["s"].addr
        env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
        server_log, client_log = tmp_path / "server.log", tmp_path / "client.log"
        net.start("s", [*MODULE, "server", s, str(PORT)], server_log, env)
        _wait_until(lambda: b"ready" in server_log.read_bytes(), 30, "the provider's server")
        url = f"http://{s}:{PORT}"
        client = net.start("c", [*MODULE, "client", url, str(unacked_timeout)], client_log, env)
        _wait_until(lambda: b"warm" in client_log.read_bytes(), 30, "the client's connection")
        net.hosts["c"].cut()
        client.send_signal(signal.SIGUSR1)  # the request leaves into a dead link
        time.sleep(unacked_timeout + 2.5 if not arrives else 4.5)
        assert b"arrived /send" not in server_log.read_bytes()  # the cut held it back
        net.hosts["c"].restore()
        outcome = b"sent" if arrives else b"failed"  # what the client says afterwards
        _wait_until(lambda: outcome in client_log.read_bytes(), 30, f"the client: {outcome!r}")
        time.sleep(3.0)  # past the kernel's next retransmission, had the connection lived
        assert (b"arrived /send" in server_log.read_bytes()) is arrives, server_log.read_text()
