"""How each test gets a clean database: a copied SQLite file, or truncated PostgreSQL tables."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backroom import models_registry
from backroom.db import Base
from backroom.migrations_support import upgrade


class Backend(Protocol):
    name: str

    async def fresh(self, tmp_path: Path) -> dict[str, Any]: ...


class SQLiteBackend:
    name = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.template = workdir / "template.sqlite3"
        upgrade(f"sqlite+aiosqlite:///{self.template}")

    async def fresh(self, tmp_path: Path) -> dict[str, Any]:
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(self.template, target)
        return {"database_url": f"sqlite+aiosqlite:///{target}", "redis_url": None}


class PostgresBackend:
    name = "postgres"

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        asyncio.run(self._reset_schema())
        upgrade(database_url)
        models_registry.load()
        tables = [t.name for t in Base.metadata.sorted_tables]
        self.truncate = (
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )

    async def _reset_schema(self) -> None:
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    async def fresh(self, tmp_path: Path) -> dict[str, Any]:
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(self.truncate))
        finally:
            await engine.dispose()
        redis = Redis.from_url(self.redis_url)
        try:
            await redis.flushdb()
        finally:
            await redis.aclose()
        return {"database_url": self.database_url, "redis_url": self.redis_url}


def sibling_database_url(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + suffix))
