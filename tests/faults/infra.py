"""What the fault tests break: their own Redis and PostgreSQL servers, `disparo worker`
processes, and a chaos layer in front of the CDA simulator. Never the shared services."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DISPARO = str(Path(sys.executable).with_name("disparo"))
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} not ready within {timeout} s")


class RedisServer:
    """A private redis-server; with `appendonly` every write is fsynced, so a kill -9 loses
    nothing and a restart brings the queues back."""

    def __init__(self, workdir: Path, *, appendonly: bool = True) -> None:
        self.port = free_port()
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True)
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.dir), "--save", "", "--daemonize", "no"]
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_timeout=1)
        _wait_until(lambda: client.ping(), 10, "redis-server")
        client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def flushall(self) -> None:
        client = redis.Redis(port=self.port)
        client.flushall()
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class PostgresServer:
    """A private PostgreSQL cluster in a temp dir, run as user postgres when we are root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="disparo-pg-"))
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if not self.data.exists():
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Workers:
    """`disparo worker` processes sharing one environment; each logs to its own file."""

    env: dict[str, str]
    logdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def _spawn(self, args: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], Path]:
        path = self.logdir / f"worker-{len(list(self.logdir.glob('worker-*.log'))) + 1}.log"
        with path.open("wb") as log:
            command = [DISPARO, "worker", *args]
            process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        return process, path

    def start(self, *args: str) -> int:
        """A worker of every queue, or of those named (`-q maintenance`)."""
        process, path = self._spawn(args)
        self.processes.append(process)
        self.logs.append(path)
        return len(self.processes) - 1

    def serving(self) -> list[int]:
        """Workers that are up and consuming (they logged worker.started)."""
        return [
            index
            for index, (process, path) in enumerate(zip(self.processes, self.logs, strict=True))
            if process.poll() is None and b'"worker.started"' in path.read_bytes()
        ]

    def replace(self, index: int) -> None:
        """kill -9 worker `index` and start a fresh one in its place."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(10)
        self.processes[index], self.logs[index] = self._spawn()

    def alive(self) -> list[bool]:
        return [process.poll() is None for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class ChaosEvent:
    at: float  # time.monotonic() when the request arrived
    kind: str  # ok, slow, 5xx, 429, timeout
    status: int = 0
    retry_after: float = 0.0
    sender: str = ""  # the client's address: which host sent it


class Chaos:
    """ASGI layer in front of a provider simulator: for each request to `path`, a seeded
    roll answers a 5xx or a 429 with Retry-After (the simulator never sees it, nothing is
    imported), or holds the request past the client's timeout before passing it on (the
    simulator imports it: the client cannot know), or passes it on slowly."""

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        *,
        seed: int,
        p_5xx: float = 0.0,
        p_429: float = 0.0,
        p_timeout: float = 0.0,
        timeout_s: float = 0.0,
        slow: tuple[float, float] = (0.0, 0.0),
        retry_after: float = 1.0,
    ) -> None:
        self.app, self.path, self.rng = app, path, random.Random(seed)
        self.p_5xx, self.p_429, self.p_timeout = p_5xx, p_429, p_timeout
        self.timeout_s, self.slow, self.retry_after = timeout_s, slow, retry_after
        self.events: list[ChaosEvent] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        roll = self.rng.random()
        now = time.monotonic()
        sender = str((scope.get("client") or ("",))[0])
        if roll < self.p_5xx:
            status = self.rng.choice([500, 503])
            self.events.append(ChaosEvent(now, "5xx", status, sender=sender))
            await _answer(receive, send, status, {})
        elif roll < self.p_5xx + self.p_429:
            self.events.append(ChaosEvent(now, "429", 429, self.retry_after, sender))
            await _answer(receive, send, 429, {"retry-after": str(int(self.retry_after))})
        elif roll < self.p_5xx + self.p_429 + self.p_timeout:
            self.events.append(ChaosEvent(now, "timeout", sender=sender))
            # The whole body arrived; the client gives up waiting; the provider imports it.
            body = await _read_body(receive)
            await asyncio.sleep(self.timeout_s)
            await self.app(scope, _replay(body), _ignore_closed(send))
        else:
            pause = self.rng.uniform(*self.slow)
            self.events.append(ChaosEvent(now, "slow" if pause else "ok", sender=sender))
            # Like a real provider, a request that arrived whole is processed even if its
            # sender dies while waiting for the answer.
            body = await _read_body(receive)
            await asyncio.sleep(pause)
            await self.app(scope, _replay(body), _ignore_closed(send))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    message: Message = {"more_body": True}
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


def _ignore_closed(send: Send) -> Send:
    async def safe_send(message: Message) -> None:
        with contextlib.suppress(Exception):  # the client left long ago
            await send(message)

    return safe_send


async def _answer(receive: Receive, send: Send, status: int, headers: dict[str, str]) -> None:
    await _read_body(receive)
    raw = [
        (k.encode(), v.encode()) for k, v in {"content-type": "application/json", **headers}.items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b'{"sucesso": false}'})
