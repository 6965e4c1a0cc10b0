"""asyncpg's own pool, for the prebuilt reads (``db.Prepared``) on PostgreSQL.

Checking a connection out of SQLAlchemy's async pool costs more CPU than a
product read's query: a greenlet hop, a connection fairy, reset-on-return. The
hottest reads need none of it, so each web process keeps a second, small pool of
plain asyncpg connections beside the engine, sized and timed like it (a request
waits at most ``BACKROOM_DB_POOL_TIMEOUT_SECONDS`` for one, then gets a 503).
jsonb comes back through orjson. It opens no connection until the first read, so
the app starts while PostgreSQL is down. Not used behind PgBouncer in
transaction mode (``BACKROOM_DB_STATEMENT_CACHE=off``): asyncpg's unnamed
statements take two round trips, which may reach two server connections.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool

from backroom.config import Settings

# What a dropped or refused PostgreSQL connection raises when the driver is used directly.
DRIVER_DISCONNECTS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)

# Each engine's read pool, found from the engine (or any engine sharing its pool,
# like the autocommit one) by ``Prepared``.
_POOLS: weakref.WeakKeyDictionary[Pool, ReadPool] = weakref.WeakKeyDictionary()


def _jsonb_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init(conn: asyncpg.Connection) -> None:
    for name in ("jsonb", "json"):
        await conn.set_type_codec(
            name, encoder=_jsonb_text, decoder=orjson.loads, schema="pg_catalog"
        )


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Only single SELECTs run here: no session state (SET, LISTEN, advisory locks)
    to undo, so the default reset's extra round trip per release buys nothing."""


class ReadPool:
    def __init__(self, dsn: str, *, max_size: int, timeout: float) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def attach(cls, engine: AsyncEngine, settings: Settings) -> ReadPool | None:
        """Give ``engine`` a read pool (PostgreSQL with the statement cache on only)."""
        if settings.is_sqlite or settings.db_statement_cache == "off":
            return None
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        pool = cls(dsn, max_size=settings.db_pool_size, timeout=settings.db_pool_timeout_seconds)
        _POOLS[engine.sync_engine.pool] = pool
        return pool

    @staticmethod
    def of(engine: AsyncEngine) -> ReadPool | None:
        return _POOLS.get(engine.sync_engine.pool)

    async def _started(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    pool = asyncpg.create_pool(
                        self._dsn, min_size=0, max_size=self._max_size, init=_init, reset=_no_reset,
                        timeout=5, command_timeout=30,
                    )  # fmt: skip
                    self._pool = await pool
        return self._pool

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection, waiting at most the pool timeout (then ``TimeoutError``: a 503)."""
        try:
            pool = await self._started()
            # An idle connection is handed over at once: skip the timeout, which
            # costs asyncpg a task and a timer per checkout. Nothing runs between
            # the check and the acquire, so the connection is still there.
            timeout = None if pool.get_idle_size() else self._timeout
            async with pool.acquire(timeout=timeout) as conn:
                yield conn
        except DRIVER_DISCONNECTS as exc:
            # The pool drops a broken connection on release; the caller gets a 503.
            raise ConnectionError("database connection lost") from exc

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *values)
            return rows

    async def close(self) -> None:
        if self._pool is None:
            return
        try:
            await asyncio.wait_for(self._pool.close(), timeout=5)
        except TimeoutError:
            self._pool.terminate()
