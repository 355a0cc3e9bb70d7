"""`disparo worker --processes N`: N worker processes that share nothing but Redis and the
database, kept alive by a small supervisor.

Each child is a plain `disparo worker` (its own interpreter, event loop, connections), so a
crash in one never touches the others. The supervisor only starts them, starts again one
that exits while it is not stopping (a child told SIGTERM on its own drains and is replaced:
that is how one process of the pool is restarted), and passes SIGTERM/SIGINT on to all of
them when it is told to stop, then waits for their drains and exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

import structlog

log = structlog.get_logger(__name__)

POLL_S = 0.2
# A child that keeps dying at start (Redis unreachable, bad settings) is not restarted in a
# tight loop: the wait doubles up to this.
MAX_RESTART_DELAY_S = 30.0
# A child that lived this long was healthy: its next crash restarts it at once.
HEALTHY_AFTER_S = 10.0


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    delay_s: float = 0.0
    restart_at: float = 0.0
    signalled: bool = False


@dataclass
class _Pool:
    size: int
    args: list[str]
    stopping: bool = False
    slots: list[_Slot] = field(default_factory=list)

    def child_env(self, slot: _Slot) -> dict[str, str]:
        env = dict(os.environ)
        # One metrics port per process: DISPARO_METRICS_PORT is the first, then +1, +2...
        base = int(env.get("DISPARO_METRICS_PORT") or 0)
        if base:
            env["DISPARO_METRICS_PORT"] = str(base + slot.index)
        return env

    def start(self, slot: _Slot) -> None:
        command = [sys.executable, "-m", "disparo", "worker", *self.args]
        slot.process = subprocess.Popen(command, env=self.child_env(slot))
        slot.started_at = time.monotonic()
        slot.signalled = False
        log.info("worker_pool.child_started", slot=slot.index, pid=slot.process.pid)

    def stop(self, signum: int, _: FrameType | None) -> None:
        self.stopping = True
        for slot in self.slots:
            # Once only: a second SIGTERM could land after a child's own handler is gone.
            if slot.process is not None and slot.process.poll() is None and not slot.signalled:
                slot.process.send_signal(signum)
                slot.signalled = True

    def tend(self, slot: _Slot) -> None:
        """Restart a child that exited, later if it keeps dying young."""
        now = time.monotonic()
        if slot.process is not None:
            code = slot.process.poll()
            if code is None:
                return
            lived = now - slot.started_at
            log.warning("worker_pool.child_exited", slot=slot.index, code=code, lived_s=lived)
            young = lived < HEALTHY_AFTER_S and code != 0
            slot.delay_s = min(MAX_RESTART_DELAY_S, max(1.0, slot.delay_s * 2)) if young else 0
            slot.restart_at = now + slot.delay_s
            slot.process = None
        if now >= slot.restart_at:
            self.start(slot)


def run_pool(size: int, worker_args: list[str]) -> int:
    """Run `size` workers until SIGTERM/SIGINT; 0 when every child drained cleanly."""
    pool = _Pool(size, worker_args, slots=[_Slot(index) for index in range(size)])
    signal.signal(signal.SIGTERM, pool.stop)
    signal.signal(signal.SIGINT, pool.stop)
    for slot in pool.slots:
        pool.start(slot)
    log.info("worker_pool.started", processes=size, pid=os.getpid())
    while not pool.stopping:
        for slot in pool.slots:
            if not pool.stopping:
                pool.tend(slot)
        time.sleep(POLL_S)
    pool.stop(signal.SIGTERM, None)  # a child started while the signal came missed it
    codes = [slot.process.wait() for slot in pool.slots if slot.process is not None]
    log.info("worker_pool.stopped", exit_codes=codes)
    return 0 if all(code == 0 for code in codes) else 1
