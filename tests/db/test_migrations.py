"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from disparo.config import to_async_url
from disparo.db.base import Base
from disparo.migrations import upgrade


def _differences(connection: Connection) -> list[Any]:
    import disparo.audit.models
    import disparo.campaigns.models
    import disparo.suppressions.models  # noqa: F401  (registers the tables)

    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(db_url: str) -> None:
    url = to_async_url(db_url)
    await upgrade(url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
