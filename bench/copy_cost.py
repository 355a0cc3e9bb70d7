"""What PostgreSQL's side of the ingest's COPY costs, by what the table carries.

COPY of `--rows` recipient rows (the ingest's columns, one campaign) into copies of
campaign_messages: with its four secondary indexes and a foreign key to a campaigns table
(what it was until migration 0018), without the key, without the indexes. The rows are made
before the clock starts, so the times are the database's (and asyncpg's encoding, the same
for all). Prints seconds per variant, 2 rounds each.

    .venv/bin/python bench/copy_cost.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from disparo.campaigns.ingest import COLUMNS
from disparo.db.scratch import scratch_database

TABLE = """CREATE TABLE {name} (id bigserial PRIMARY KEY, campaign_id uuid {key},
  row_index int, row_id bigint, batch_seq int, phone varchar(32), name varchar(255),
  cpf_cnpj varchar(32), id_carteira varchar(100), idgis_ambiente varchar(100),
  idcob_contrato varchar(100), message text, extra json, status varchar(16), attempts int,
  skip_reason varchar(255), created_at timestamptz, delivery_recorded_at timestamptz)"""
INDEXES = [
    "(campaign_id, batch_seq, status)",
    "(campaign_id, id)",
    "(campaign_id, status, id)",
    "(campaign_id, phone)",
]
# name: (foreign key to campaigns, secondary indexes)
VARIANTS = {
    "indexes + foreign key (before 0018)": (True, 4),
    "indexes (after 0018)": (False, 4),
    "foreign key, no index": (True, 0),
    "primary key alone": (False, 0),
}


async def run(admin_url: str, rows: int) -> None:
    async with scratch_database(admin_url, "disparo_copy") as url:
        connection = await asyncpg.connect(url)
        try:
            await _tables(connection)
            for round_number in (1, 2):
                for number, label in enumerate(VARIANTS):
                    seconds = await _copy(connection, f"m{number}", rows)
                    print(f"round {round_number}  {label:38} {seconds:.3f} s")
        finally:
            await connection.close()


async def _tables(connection: asyncpg.Connection) -> None:
    await connection.execute("CREATE TABLE campaigns (id uuid PRIMARY KEY)")
    for number, (with_key, indexes) in enumerate(VARIANTS.values()):
        key = "REFERENCES campaigns(id) ON DELETE CASCADE" if with_key else ""
        await connection.execute(TABLE.format(name=f"m{number}", key=key))
        for columns in INDEXES[:indexes]:
            await connection.execute(f"CREATE INDEX ON m{number} {columns}")


async def _copy(connection: asyncpg.Connection, table: str, rows: int) -> float:
    campaign = uuid.uuid4()
    await connection.execute("INSERT INTO campaigns VALUES ($1)", campaign)
    records = _records(campaign, rows)
    async with connection.transaction():
        started = time.perf_counter()
        await connection.copy_records_to_table(table, records=records, columns=COLUMNS)
        return time.perf_counter() - started


def _records(campaign: uuid.UUID, rows: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    message = "Olá CLIENTE EXEMPLO, temos uma proposta para o seu contrato."
    fixed = ("11111111111", "1001", "1001", "11", message, None, "PENDING", 0, None, now)
    return [
        (campaign, i, i + 1, i // 100_000, f"55119{i:08d}", f"CLIENTE EXEMPLO {i}", *fixed)
        for i in range(rows)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the script creates and drops its own database",
    )  # fmt: skip
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.rows))


if __name__ == "__main__":
    main()
