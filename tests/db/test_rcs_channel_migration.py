"""Migration 0006 gives the tables exactly the columns the models declare, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

import disparo.campaigns.models  # noqa: F401  (registers the tables)
from disparo.config import to_async_url
from disparo.db.base import Base
from disparo.db.engine import create_engine
from disparo.migrations import upgrade


async def test_models_and_migrations_agree(db_url: str) -> None:
    url = to_async_url(db_url)
    await upgrade(url)

    def differences(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
            columns = await connection.run_sync(
                lambda sync: {
                    table: {c["name"] for c in sync.dialect.get_columns(sync, table)}
                    for table in ("campaign_messages", "provider_batches")
                }
            )
    finally:
        await engine.dispose()
    assert all("channel" in names for names in columns.values())
