"""Group commit of the providers' callbacks: each request hands its receipt (or reply) to the
writer and waits; one task writes everything waiting in one transaction, then answers all of
them at once. While it writes, new callbacks gather for the next flush, so the batches grow
with the load by themselves (no timer, no added latency when it is quiet).

Why not a Redis list drained by a worker: the provider is answered 200 only after its
callback is committed in the database, so nothing acknowledged can be lost (a crash before
the commit answers nothing, and the vendor sends it again), with no extra process and the
same code in `make demo`. Why not one transaction per callback: at 2,000/s the commits (an
fsync each on PostgreSQL, a file lock on SQLite) are the whole budget.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.deliveries import Item, Reply, StatusUpdate, apply_statuses
from disparo.campaigns.replies import store_replies
from disparo.metrics import record_delivery_callbacks

log = structlog.get_logger(__name__)

MAX_FLUSH = 2_000  # callbacks per transaction
# Transactions at once: while one waits for its commit (an fsync), the next is written. Safe
# because the precedence is a maximum (order does not matter) and each flush takes its row
# locks in one order (deliveries.apply_statuses sorts), so two flushes cannot deadlock.
MAX_CONCURRENT_FLUSHES = 3
# Callbacks waiting for a flush at most (a slow or absent database must not grow the queue
# without end): past it, a callback is answered 503 at once and the vendor resends it.
MAX_WAITING = 20_000


class CallbackWriteFailed(Exception):
    """The flush holding this callback did not commit: the caller answers 503 (resend)."""


@dataclass(slots=True)
class _Waiting:
    item: Item
    done: asyncio.Future[None]


class CallbackWriter:
    """One per API process (and event loop). `sessions()` opens a session; the flush owns
    its transaction."""

    def __init__(
        self,
        sessions: Callable[[], AsyncSession],
        *,
        max_flush: int = MAX_FLUSH,
        max_concurrent: int = MAX_CONCURRENT_FLUSHES,
        opt_out_words: Sequence[str] = (),
    ):
        self._sessions = sessions
        # A reply that is one of these words puts its phone on the suppression list.
        self._opt_out_words = tuple(opt_out_words)
        self._max_flush = max_flush
        self._max_concurrent = max_concurrent
        self._waiting: list[_Waiting] = []
        self._flushers: set[asyncio.Task[None]] = set()
        self.flushes = 0  # how many transactions so far (tests, the bench)

    async def submit(self, item: Item) -> None:
        """Return once `item` is committed; raise CallbackWriteFailed if its flush failed."""
        if len(self._waiting) >= MAX_WAITING:
            raise CallbackWriteFailed("fila cheia")
        waiting = _Waiting(item, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        self._start_flusher()
        # A caller that goes away (client disconnect) cancels only its own future: the flush
        # is a task of its own, and _settle skips futures already done.
        await waiting.done

    def _start_flusher(self) -> None:
        if self._waiting and len(self._flushers) < self._max_concurrent:
            flusher = asyncio.create_task(self._flush_all(), name="callback-writer")
            self._flushers.add(flusher)

    async def close(self) -> None:
        """Finish what is waiting (shutdown)."""
        while self._flushers:
            with contextlib.suppress(Exception):
                await asyncio.gather(*list(self._flushers))

    async def _flush_all(self) -> None:
        try:
            await asyncio.sleep(0)  # let the callbacks of this loop turn join the first flush
            while self._waiting:
                batch = self._waiting[: self._max_flush]
                del self._waiting[: self._max_flush]
                await self._flush(batch)
        finally:
            # Leave the set now, not in a done-callback a loop turn later (a submit in that
            # gap would see no free flusher and start none), and hand on what arrived since.
            current = asyncio.current_task()
            if current is not None:
                self._flushers.discard(current)
            self._start_flusher()

    async def _flush(self, batch: list[_Waiting]) -> None:
        try:
            await self._write_settled(batch)
        except BaseException:
            # Cancelled (shutdown): nobody may wait forever; unanswered, the vendor resends.
            _settle(batch, CallbackWriteFailed("interrompido"))
            raise

    async def _write_settled(self, batch: list[_Waiting]) -> None:
        """Write the batch; if that fails, each callback alone, so that one the database
        refuses fails by itself and does not take the others with it at every resend."""
        try:
            await self._write([w.item for w in batch])
        except Exception as exc:
            log.error("callbacks.write_failed", callbacks=len(batch), error=type(exc).__name__)
            if len(batch) == 1 or not _refused_data(exc):
                # The database down or busy fails them all at once: one by one would make
                # each wait its own pool timeout while the vendor resends behind them.
                _settle(batch, CallbackWriteFailed(type(exc).__name__))
                return
            for waiting in batch:
                await self._write_settled([waiting])
            return
        self.flushes += 1
        items = [w.item for w in batch]
        record_delivery_callbacks(
            [i.status for i in items if isinstance(i, StatusUpdate)],
            sum(isinstance(i, Reply) for i in items),
        )
        _settle(batch, None)

    async def _write(self, items: list[Item]) -> None:
        async with self._sessions() as session, session.begin():
            await apply_statuses(session, [i for i in items if isinstance(i, StatusUpdate)])
            replies = [i for i in items if isinstance(i, Reply)]
            await store_replies(session, replies, opt_out_words=self._opt_out_words)


def _refused_data(exc: Exception) -> bool:
    """The database refused something in the data (a value, a constraint), not the work."""
    return isinstance(exc, IntegrityError | DataError)


def _settle(batch: list[_Waiting], error: Exception | None) -> None:
    for waiting in batch:
        if waiting.done.done():
            continue
        if error is None:
            waiting.done.set_result(None)
        else:
            waiting.done.set_exception(error)
