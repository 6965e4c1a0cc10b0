"""The database side of an import batch, per dialect.

PostgreSQL: new products are ``COPY``-ed (binary) straight into the table;
changed ones are ``COPY``-ed into a temporary staging table and applied with one
``UPDATE … FROM``; ledger movements are ``COPY``-ed into the ledger. SQLite: new
products and ledger lines in one ``INSERT … SELECT`` each over the batch as a
JSON array, changed products by ``executemany``. Both run in the caller's
transaction, so a batch is all or nothing.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    Table,
    TextClause,
    any_,
    bindparam,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.models import Product
from backroom.imports.prepare import LEDGER_COLUMNS, PRODUCT_COLUMNS

PRODUCT = cast(Table, Product.__table__)
_STAGE_COLUMNS = (
    "id",
    "name",
    "description",
    "price_cents",
    "stock",
    "category_id",
    "is_active",
    "version",
    "updated_at",
    "import_job_id",
)
_UPDATED = ("name", "description", "price_cents", "stock", "category_id", "is_active", "version",
            "updated_at", "import_job_id")  # fmt: skip

_CREATE_STAGE = text("""
CREATE TEMP TABLE IF NOT EXISTS import_changes (
  id uuid, name text, description text, price_cents bigint, stock integer, category_id uuid,
  is_active boolean, version integer, updated_at timestamptz, import_job_id uuid
) ON COMMIT DELETE ROWS
""")
_UPDATE_EXISTING = text(
    "UPDATE product AS p SET "  # noqa: S608 - the names are the constants above  # nosec B608
    + ", ".join(f"{name} = s.{name}" for name in _UPDATED)
    + " FROM import_changes AS s WHERE p.id = s.id"
)


async def write(
    session: AsyncSession,
    products: list[tuple[Any, ...]],
    updates: list[dict[str, Any]],
    movements: list[tuple[Any, ...]],
) -> None:
    """New products and ledger lines come encoded for the driver (see ``prepare``)."""
    if _is_postgres(session):
        await _postgres(session, products, updates, movements)
    else:
        await _sqlite(session, products, updates, movements)


def among(session: AsyncSession, column: Any, values: list[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL one array parameter (``= ANY``): the same
    prepared statement for every batch, and no 5,000-placeholder SQL to render."""
    if _is_postgres(session):
        kind = PG_UUID(as_uuid=True) if isinstance(values[0], uuid.UUID) else String()
        condition: ColumnElement[bool] = column == any_(
            bindparam("among", values, type_=ARRAY(kind))
        )
    else:
        condition = column.in_(values)
    return condition


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def mark(session: AsyncSession, product_ids: list[uuid.UUID], job_id: uuid.UUID) -> None:
    """Record that this job saw these (unchanged) products: a later duplicate is caught."""
    if product_ids:
        among_ids = among(session, PRODUCT.c.id, product_ids)
        stmt = update(PRODUCT).where(among_ids).values(import_job_id=job_id)
        await session.execute(stmt)


async def _sqlite(
    session: AsyncSession,
    products: list[tuple[Any, ...]],
    updates: list[dict[str, Any]],
    movements: list[tuple[Any, ...]],
) -> None:
    # New rows go as one JSON text (see _from_json), already in SQLAlchemy's
    # storage format: no per-value bind processing, no step per row.
    if products:
        before = await session.scalar(text("SELECT coalesce(max(rowid), 0) FROM product"))
        await session.execute(_SQLITE_PRODUCT, {"rows": orjson.dumps(products)})
        # The FTS trigger skips rows an import creates (migration 0008): one
        # statement indexes the batch, a quarter of the per-row trigger's cost.
        await session.execute(_SQLITE_INDEX, {"after": before, "job": products[0][-1]})
    if updates:
        stmt = (
            update(PRODUCT)
            .where(PRODUCT.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in _UPDATED})
        )
        await session.execute(stmt, [{**row, "b_id": row["id"]} for row in updates])
    if movements:
        await session.execute(_SQLITE_LEDGER, {"rows": orjson.dumps(movements)})


async def _postgres(
    session: AsyncSession,
    products: list[tuple[Any, ...]],
    updates: list[dict[str, Any]],
    movements: list[tuple[Any, ...]],
) -> None:
    raw = await _driver(session)
    if products:  # straight into the table: nothing to merge for a new SKU
        await raw.copy_records_to_table("product", records=products, columns=PRODUCT_COLUMNS)
    if updates:
        await session.execute(_CREATE_STAGE)
        staged = [_staged(row) for row in updates]
        await raw.copy_records_to_table("import_changes", records=staged, columns=_STAGE_COLUMNS)
        await session.execute(_UPDATE_EXISTING)
    if movements:
        await raw.copy_records_to_table("stock_movement", records=movements, columns=LEDGER_COLUMNS)


async def _driver(session: AsyncSession) -> Any:
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    return raw


def _from_json(table: str, columns: tuple[str, ...]) -> TextClause:
    """One ``INSERT … SELECT`` over a JSON array of rows (``:rows``): the whole
    batch in one step of SQLite, in C. ``executemany`` steps once per row, and
    each step gives up and takes back the GIL, which the thread preparing the
    next batch holds for up to the switch interval (5 ms): the writer stalled
    whenever Python ran."""
    picks = ", ".join(f"value ->> {n}" for n in range(len(columns)))
    return text(
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - constant names  # nosec B608
        f"SELECT {picks} FROM json_each(:rows)"
    )


_SQLITE_PRODUCT = _from_json("product", PRODUCT_COLUMNS)
_SQLITE_INDEX = text(
    "INSERT INTO product_fts(rowid, name, sku, description) "
    "SELECT rowid, name, sku, description FROM product "
    "WHERE rowid > :after AND import_job_id = :job"
)
_SQLITE_LEDGER = _from_json("stock_movement", LEDGER_COLUMNS)


def _staged(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in _STAGE_COLUMNS)
