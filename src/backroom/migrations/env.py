"""Alembic environment: runs the migrations over the app's async drivers."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from backroom import models_registry
from backroom.db import Base

config = context.config
target_metadata = Base.metadata
models_registry.load()


def _include(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
    # The full-text machinery lives outside the models (FTS5 tables on SQLite, a
    # generated column on PostgreSQL): autogenerate must not offer to drop it.
    if kind == "table" and name and name.startswith("product_fts"):
        return False
    return not (kind == "column" and name == "search" and reflected and compare_to is None)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async(str(config.get_main_option("sqlalchemy.url"))))
