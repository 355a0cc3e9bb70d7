"""Engine and session factory; one engine per process, created by whoever owns the process."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]

# The most PostgreSQL connections one process's engine holds: POOL_SIZE kept open, up to
# MAX_OVERFLOW more under load (the README's pool sizing counts on these).
POOL_SIZE = 10
MAX_OVERFLOW = 10
# `?pooler=pgbouncer` on DISPARO_DATABASE_URL: PostgreSQL is behind a transaction-pooling
# PgBouncer. Taken off the URL before the driver sees it.
POOLER_PARAM = "pooler"
POOLERS = ("pgbouncer",)


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url)
    pooler = parsed.query.get(POOLER_PARAM)
    connect_args = _pooler_connect_args(pooler) if pooler is not None else {}
    engine = create_async_engine(
        parsed.difference_update_query([POOLER_PARAM]),
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A connection the server closed (a restart, a PgBouncer reload, an idle timeout) is
    replaced before use. asyncpg already knows it is closed once the loop has seen the
    socket's end, so this asks nothing of the server: `pool_pre_ping` did the same with a
    round trip per checkout, four for every batch sent. A connection lost without a word
    (a cut link) fails its first statement instead, and that statement's retry
    (failed_requests.with_db_retries, the job's own retry) gets a fresh one."""
    if record.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def _pooler_connect_args(pooler: str | tuple[str, ...]) -> dict[str, Any]:
    """In transaction pooling each transaction may run on another server connection, so a
    statement prepared on one is missing on the next (or its name taken by another client).
    asyncpg prepares every statement: keep no cache of them (asyncpg's and SQLAlchemy's), and
    give each a name no other client can use."""
    if pooler not in POOLERS:
        raise ValueError(
            f"DISPARO_DATABASE_URL: {POOLER_PARAM}={pooler!r} is not one of {', '.join(POOLERS)}"
        )
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _create_sqlite_engine(url: str) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the API read while a worker writes; busy_timeout makes writers queue
        # instead of failing with "database is locked".
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # Take transaction control from the driver so that "begin" below decides it.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # A deferred transaction that later writes fails at once with SQLITE_BUSY when
        # another process wrote meanwhile; taking the write lock up front makes it wait.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
