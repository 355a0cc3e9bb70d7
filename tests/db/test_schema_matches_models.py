"""The migrations build exactly the schema the models describe, on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from disparo.campaigns import models  # noqa: F401  (registers the tables)
from disparo.config import to_async_url
from disparo.db.base import Base
from disparo.db.engine import create_engine
from disparo.db.migrate import upgrade


async def test_migrated_schema_has_no_difference_from_the_models(db_url: str) -> None:
    url = to_async_url(db_url)
    await upgrade(url)

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert found == []
