"""disparo behind Debian's PgBouncer in transaction pooling mode, started by the test on a
free port with fewer server connections than disparo has clients, so that transactions of
different clients really share server connections."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from disparo.db.engine import create_engine
from disparo.devstack import start_dev_stack
from tests.conftest import make_settings
from tests.e2e.helpers import CAMPAIGN, campaign_rows, dispatch, wait_final

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_pgbouncer(pg_url: str, server_connections: int) -> Iterator[str]:
    """PgBouncer in front of ``pg_url``'s database; yields the URL to connect through it."""
    if not os.path.exists(PGBOUNCER):
        pytest.fail("pgbouncer missing (Debian: apt-get install pgbouncer)")
    with tempfile.TemporaryDirectory(prefix="disparo-pgbouncer-") as name:
        workdir = Path(name)
        # pgbouncer refuses to run as root: it drops to postgres (-u), who must write here.
        workdir.chmod(0o777)
        yield from _run_pgbouncer(workdir, pg_url, server_connections)


def _run_pgbouncer(workdir: Path, pg_url: str, server_connections: int) -> Iterator[str]:
    database = pg_url.rsplit("/", 1)[1]
    port = _free_port()
    config = workdir / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
{database} = host=127.0.0.1 port=5432 dbname={database} user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {server_connections}
max_client_conn = 200
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    process = subprocess.Popen([PGBOUNCER, "-u", "postgres", str(config)])
    try:
        deadline = time.monotonic() + 20
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log_file = workdir / "pgbouncer.log"
                log = log_file.read_text(errors="replace") if log_file.exists() else ""
                raise AssertionError(f"pgbouncer did not start:\n{log}")
            time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def two_server_connections(pg_url: str) -> Iterator[str]:
    yield from _start_pgbouncer(pg_url, server_connections=2)


@pytest.fixture
def three_server_connections(pg_url: str) -> Iterator[str]:
    yield from _start_pgbouncer(pg_url, server_connections=3)


async def _same_query_on_another_server_connection(url: str) -> list[int]:
    """Client A runs a query; then, while client B holds the first server connection in an
    open transaction, A runs it again, and PgBouncer gives A the second one."""
    a, b = create_engine(url), create_engine(url)
    query = text("SELECT CAST(:n AS integer) + 1")
    try:
        async with a.connect() as first:
            answers = [int(await first.scalar(query, {"n": 0}))]
        async with b.connect() as holder:
            await holder.scalar(text("SELECT 1"))  # B's transaction keeps its server connection
            async with a.connect() as again:
                answers.append(int(await again.scalar(query, {"n": 1})))
            await holder.commit()
    finally:
        await a.dispose()
        await b.dispose()
    return answers


async def test_without_the_pooler_setting_a_cached_statement_is_missing(
    two_server_connections: str,
) -> None:
    """The trap is real here: asyncpg's cached prepared statement lives on the server
    connection that prepared it, and the next transaction may run on another."""
    url = two_server_connections.replace("postgresql://", "postgresql+asyncpg://")
    with pytest.raises(DBAPIError, match="prepared statement"):
        await _same_query_on_another_server_connection(url)


async def test_with_pooler_pgbouncer_any_server_connection_will_do(
    two_server_connections: str,
) -> None:
    url = two_server_connections.replace("postgresql://", "postgresql+asyncpg://")
    assert await _same_query_on_another_server_connection(url + "?pooler=pgbouncer") == [1, 2]


@pytest.fixture
async def bounced_stack(
    three_server_connections: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[object]:
    settings = make_settings(
        three_server_connections + "?pooler=pgbouncer",
        redis_prefix,
        tmp_path,
        cda_batch_size=100,
        worker_concurrency=8,
    )
    stack = await start_dev_stack(settings)  # migrations run through PgBouncer too
    try:
        yield stack
    finally:
        await stack.stop()


async def test_a_whole_campaign_runs_through_pgbouncer_in_transaction_mode(
    bounced_stack: object,
) -> None:
    from disparo.devstack import DevStack

    assert isinstance(bounced_stack, DevStack)
    stack = bounced_stack
    rows = stack.wordpress.seed_campaign(CAMPAIGN, 2_500)
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202
    final = await wait_final(stack, CAMPAIGN, webhooks=2, timeout=120)
    assert (final["status"], final["sent_messages"]) == ("COMPLETED", 2_500), final
    phones = [line.split(";")[1] for r in stack.cda.requests for line in r.json["mensagens"]]
    assert sorted(phones) == sorted(row["telefone"] for row in rows)  # all, none twice
    _, batches, _ = await campaign_rows(stack, CAMPAIGN)
    assert len(batches) == 25 and {b.status.value for b in batches} == {"SENT"}
