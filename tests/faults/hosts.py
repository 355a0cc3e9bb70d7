"""Hosts as Linux network namespaces on one bridge, each with its own address in one fixed
private /24. The test's own process reaches them through the bridge's address; nothing is
routed anywhere else. Everything made here is deleted by `close()` (namespaces, veths, the
bridge, and the processes started in them)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.77.11"  # 10.77.11.0/24; the bridge (this process's side) is .254
BRIDGE_ADDR = f"{SUBNET}.254"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def can_build_hosts() -> str | None:
    """None when network namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    return None


@dataclass
class Host:
    name: str  # the namespace
    addr: str
    device: str  # its end of the veth pair, inside the namespace

    def command(self, *args: str, user: str | None = None) -> list[str]:
        inner = ["runuser", "-u", user, "--", *args] if user else list(args)
        return ["ip", "netns", "exec", self.name, *inner]

    def run(self, *args: str, user: str | None = None) -> None:
        subprocess.run(self.command(*args, user=user), check=True, capture_output=True, timeout=120)

    def cut(self) -> None:
        """Its link goes down: every connection to and from it hangs."""
        self.run("ip", "link", "set", self.device, "down")

    def restore(self) -> None:
        self.run("ip", "link", "set", self.device, "up")


@dataclass
class Network:
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    tag: str = field(default_factory=lambda: secrets.token_hex(2))

    @property
    def bridge(self) -> str:
        return f"dsp{self.tag}br"

    def build(self, names: list[str]) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{BRIDGE_ADDR}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for number, name in enumerate(names, start=1):
            host = Host(f"dsp{self.tag}-{name}", f"{SUBNET}.{number}", f"dsp{self.tag}{name}n")
            outside = f"dsp{self.tag}{name}h"
            _ip("netns", "add", host.name)
            self.hosts[name] = host
            _ip("link", "add", outside, "type", "veth", "peer", "name", host.device)
            _ip("link", "set", host.device, "netns", host.name)
            _ip("link", "set", outside, "master", self.bridge, "up")
            host.run("ip", "addr", "add", f"{host.addr}/24", "dev", host.device)
            host.run("ip", "link", "set", host.device, "up")
            host.run("ip", "link", "set", "lo", "up")

    def start(
        self, host: str, args: list[str], log: Path, env: dict[str, str], user: str | None = None
    ) -> subprocess.Popen[bytes]:
        """A process inside `host` (`ip netns exec` execs it: its pid is the process's)."""
        with log.open("wb") as out:
            command = self.hosts[host].command(*args, user=user)
            process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=Path.cwd()
            )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        for host in self.hosts.values():
            # Anything still inside our own namespaces was started by this test.
            pids = subprocess.run(
                ["ip", "netns", "pids", host.name], capture_output=True, text=True, check=False
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "delete", host.name], check=False, capture_output=True)
        subprocess.run(["ip", "link", "delete", self.bridge], check=False, capture_output=True)


@contextlib.contextmanager
def network_of(names: list[str]) -> Iterator[Network]:
    """Hosts `names` on one bridge, all deleted on the way out."""
    net = Network()
    try:
        net.build(names)
        yield net
    finally:
        net.close()
