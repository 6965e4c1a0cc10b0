"""Writing generated rows as fast as each database takes them, below SQLAlchemy.

PostgreSQL: binary ``COPY`` (asyncpg ``copy_records_to_table``) on one connection,
inside one transaction, so a failed or interrupted run leaves nothing behind.
SQLite: ``executemany`` with one ``BEGIN IMMEDIATE … COMMIT`` per batch, so the
WAL stays small and the app can keep serving between batches (a failed run keeps
the batches already committed).

Rows are built directly in each driver's storage format (the :class:`Codec`),
because SQLAlchemy's per-value bind processing would cost more than the insert.
The formats are the ones SQLAlchemy itself writes for the models' column types.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

Row = tuple[Any, ...]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]


@dataclass(slots=True)
class Batch:
    """Rows for several tables (written in list order, parents first) and how far
    the phase advanced (``units``: products, customers or orders)."""

    units: int
    tables: list[tuple[Table, list[Row]]] = field(default_factory=list)

    def rows(self) -> dict[str, int]:
        return {table.name: len(rows) for table, rows in self.tables}


class Codec(Protocol):
    """Python values → what the driver stores for a UUID, a UTC timestamp, a boolean."""

    def uid(self, value: int) -> Any: ...

    def ts(self, micros: int) -> Any: ...

    def flag(self, value: bool) -> Any: ...


class PostgresCodec:
    def uid(self, value: int) -> Any:
        # asyncpg parses hex text into a uuid in C: 10x cheaper than building uuid.UUID.
        return f"{value:032x}"

    def ts(self, micros: int) -> Any:
        return _EPOCH + timedelta(microseconds=micros)

    def flag(self, value: bool) -> Any:
        return value


class SQLiteCodec:
    """SQLAlchemy's SQLite formats: ``Uuid`` is 32 hex digits, a ``DateTime`` is text
    with six-digit microseconds (keysets compare it as text), a boolean is 0/1."""

    def uid(self, value: int) -> Any:
        return f"{value:032x}"

    def ts(self, micros: int) -> Any:
        return (_NAIVE_EPOCH + timedelta(microseconds=micros)).isoformat(" ", "microseconds")

    def flag(self, value: bool) -> Any:
        return 1 if value else 0


class Writer(Protocol):
    codec: Codec

    async def fetch(self, sql: str, *params: Any) -> list[Row]: ...

    async def execute_many(self, sql: str, rows: Sequence[Row]) -> None: ...

    async def write(self, batch: Batch) -> None: ...

    async def finish(self) -> None: ...


def _dollar(sql: str) -> str:
    """``?`` placeholders → PostgreSQL's ``$1, $2, …`` (our SQL has no ``?`` in literals)."""
    count = iter(range(1, 1_000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


class PostgresWriter:
    codec: Codec = PostgresCodec()

    def __init__(self, driver: Any) -> None:
        self._db = driver
        self._tx = driver.transaction()
        self.finished = False

    async def start(self) -> None:
        await self._tx.start()

    async def abort(self) -> None:
        if not self.finished:
            await self._tx.rollback()

    async def fetch(self, sql: str, *params: Any) -> list[Row]:
        return [tuple(r) for r in await self._db.fetch(_dollar(sql), *params)]

    async def execute_many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            await self._db.executemany(_dollar(sql), rows)

    async def write(self, batch: Batch) -> None:
        for table, rows in batch.tables:
            if rows:
                await self._db.copy_records_to_table(
                    table.name, records=rows, columns=list(table.columns)
                )

    async def finish(self) -> None:
        await self._tx.commit()
        self.finished = True
        # Fresh statistics, or the planner guesses on a million new rows.
        await self._db.execute("ANALYZE")


class SQLiteWriter:
    codec: Codec = SQLiteCodec()

    def __init__(self, driver: Any) -> None:
        self._db = driver
        self.finished = False

    async def fetch(self, sql: str, *params: Any) -> list[Row]:
        return [tuple(r) for r in await self._db.execute_fetchall(sql, params)]

    async def execute_many(self, sql: str, rows: Sequence[Row]) -> None:
        if rows:
            await self.write_sql([(sql, rows)])

    async def write(self, batch: Batch) -> None:
        statements = [
            (
                # Table and column names are the module's own constants, never input.
                f"INSERT INTO {table.name} ({', '.join(table.columns)}) "  # noqa: S608  # nosec B608
                f"VALUES ({', '.join('?' * len(table.columns))})",
                rows,
            )
            for table, rows in batch.tables
            if rows
        ]
        await self.write_sql(statements)

    async def write_sql(self, statements: Sequence[tuple[str, Sequence[Row]]]) -> None:
        # The connection runs in autocommit mode (db.py); the write lock is taken at
        # BEGIN so a serving app's writers queue behind us instead of failing.
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                await self._db.executemany(sql, rows)
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")

    async def finish(self) -> None:
        self.finished = True
        await self._db.execute("ANALYZE")


@asynccontextmanager
async def open_writer(engine: AsyncEngine) -> AsyncIterator[Writer]:
    """A writer on one raw driver connection; PostgreSQL's transaction is rolled back
    unless :meth:`Writer.finish` was reached."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        if engine.dialect.name != "postgresql":
            yield SQLiteWriter(driver)
            return
        writer = PostgresWriter(driver)
        await writer.start()
        try:
            yield writer
        finally:
            await writer.abort()
