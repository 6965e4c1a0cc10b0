"""Engine, sessions and the declarative base.

SQLite gets WAL, foreign keys and a busy timeout on every connection, and
transactions that are begun explicitly so that write use cases can take the
write lock up front (``BEGIN IMMEDIATE``) instead of failing half-way with
"database is locked". PostgreSQL runs at READ COMMITTED; counters are changed
with conditional UPDATEs that work the same on both.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import uuid_utils.compat as uuid_compat
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Select, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from backroom.config import Settings
from backroom.readpool import DRIVER_DISCONNECTS, ReadPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option a write use case sets so SQLite takes the write lock at BEGIN.
SQLITE_IMMEDIATE = "backroom_sqlite_immediate"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    """Time-ordered UUIDv7: unguessable, yet index-friendly like a sequence."""
    return uuid_compat.uuid7()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        pool = _pool(settings) if ":memory:" not in url else {}  # that one has no pool
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {"timeout": 5, "command_timeout": 30}
    if settings.db_statement_cache == "off":
        # PgBouncer in transaction mode gives each transaction whichever server
        # connection is free: a statement prepared on one is unknown (or its name
        # taken) on the next. So nothing is cached, and names never repeat.
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    return create_async_engine(
        url,
        **_pool(settings),
        # No pre-ping: it costs a round trip per checkout. A connection found dead
        # fails its request with a 503 and SQLAlchemy then recycles the whole pool.
        pool_pre_ping=False,
        connect_args=connect_args,
    )


def _pool(settings: Settings) -> dict[str, Any]:
    # A request waits at most the pool timeout for a connection, then is shed with a 503.
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_seconds,
    }


def _unique_statement_name() -> str:
    return f"__backroom_{uuid.uuid4().hex}__"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        immediate = options.get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def autocommit(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    """The same pool, for single reads: no BEGIN/ROLLBACK round trips around a SELECT.

    Not with the statement cache off (PgBouncer in transaction mode): outside a
    transaction, SQLAlchemy's prepare and its execution may reach different server
    connections, so there reads keep their transaction.
    """
    if settings.db_statement_cache == "off" and not settings.is_sqlite:
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_sessionmaker(
    engine: AsyncEngine, info: Mapping[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """``info`` is copied into every session's ``Session.info`` (the outbox's notifier)."""
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, info=dict(info or {})
    )


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE).

    SQLite can't upgrade a read transaction to a write one while another writer
    has committed (it fails at once with "database is locked"), so a read-only
    transaction already open (a dependency loaded the user, say) is ended first.
    Loaded objects stay usable (``expire_on_commit=False``); re-read anything
    whose freshness matters after this call.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() must come before the use case's first change")
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={SQLITE_IMMEDIATE: True})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; services commit, this only closes (and rolls back leftovers)."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.ctx.sessionmaker
    async with maker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


class Prepared:
    """A SELECT built once and run many times, the lean way for each database.

    On PostgreSQL it is compiled once to SQL with ``$n`` parameters and run
    straight on asyncpg (which prepares and caches it): on the engine's read pool
    when it has one (``readpool``), else on a connection of the engine's pool,
    skipping SQLAlchemy's per-execution work, which costs more CPU than the query.
    Elsewhere it runs through SQLAlchemy Core; being prebuilt, its cache key is
    computed once. Use with an autocommit engine: there is no transaction.
    """

    # Called with the SQL of every driver-level execution (SQLAlchemy's events don't
    # see those): the tests count queries with it.
    observer: ClassVar[Callable[[str], None] | None] = None

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: tuple[str, list[str], dict[str, Any]] | None = None

    def _sql(self, engine: AsyncEngine) -> tuple[str, list[str], dict[str, Any]]:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=engine.dialect)
            # params: the values of literal binds (``stock > 0``) that callers don't pass.
            names = list(compiled.positiontup or [])
            self._compiled = (compiled.string, names, dict(compiled.params))
        return self._compiled

    async def all(
        self, engine: AsyncEngine, params: Mapping[str, Any]
    ) -> Sequence[Mapping[Any, Any]]:
        if engine.dialect.name != "postgresql":
            async with engine.connect() as conn:
                return list((await conn.execute(self.statement, dict(params))).mappings())
        sql, names, literals = self._sql(engine)
        values = [{**literals, **params}[name] for name in names]
        if Prepared.observer is not None:
            Prepared.observer(sql)
        pool = ReadPool.of(engine)
        if pool is not None:
            return await pool.fetch(sql, values)
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                rows: Sequence[Mapping[Any, Any]] = await driver.fetch(sql, *values)
            except DRIVER_DISCONNECTS as exc:
                # SQLAlchemy didn't see this failure: retire the connection ourselves
                # (the pool then replaces it) and report an outage, not a bug.
                await conn.invalidate()
                raise ConnectionError("database connection lost") from exc
        return rows

    async def one(self, engine: AsyncEngine, params: Mapping[str, Any]) -> Mapping[Any, Any] | None:
        rows = await self.all(engine, params)
        return rows[0] if rows else None
