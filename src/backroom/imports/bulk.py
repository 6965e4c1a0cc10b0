"""The database side of an import batch, per dialect.

PostgreSQL: the batch's products are ``COPY``-ed (binary) into a temporary
staging table, then one ``INSERT … SELECT`` creates the new ones and one
``UPDATE … FROM`` changes the existing ones; ledger movements are ``COPY``-ed
straight into the ledger. SQLite: ``executemany`` of the same rows. Both run in
the caller's transaction, so a batch is all or nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, String, Table, any_, bindparam, text, update
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.models import Product
from backroom.inventory.models import StockMovement

PRODUCT = cast(Table, Product.__table__)
LEDGER = cast(Table, StockMovement.__table__)
_STAGE_COLUMNS = (
    "id", "sku", "slug", "name", "description", "price_cents", "stock", "category_id",
    "is_active", "version", "created_at", "updated_at", "import_job_id", "is_new",
)  # fmt: skip
_LEDGER_COLUMNS = (
    "id", "product_id", "delta", "reason", "note", "stock_after", "actor_id", "created_at",
)  # fmt: skip
_UPDATED = ("name", "description", "price_cents", "stock", "category_id", "is_active", "version",
            "updated_at", "import_job_id")  # fmt: skip

_CREATE_STAGE = text("""
CREATE TEMP TABLE IF NOT EXISTS import_stage (
  id uuid, sku text, slug text, name text, description text, price_cents bigint, stock integer,
  category_id uuid, is_active boolean, version integer, created_at timestamptz,
  updated_at timestamptz, import_job_id uuid, is_new boolean
) ON COMMIT DELETE ROWS
""")
_INSERT_NEW = text("""
INSERT INTO product (id, sku, slug, name, description, price_cents, stock, category_id, is_active,
                     attributes, version, created_at, updated_at, import_job_id)
SELECT id, sku, slug, name, description, price_cents, stock, category_id, is_active,
       '{}'::jsonb, version, created_at, updated_at, import_job_id
FROM import_stage WHERE is_new
""")
_UPDATE_EXISTING = text(
    "UPDATE product AS p SET "  # noqa: S608 - the names are the constants above
    + ", ".join(f"{name} = s.{name}" for name in _UPDATED)
    + " FROM import_stage AS s WHERE p.id = s.id AND NOT s.is_new"
)


async def write(
    session: AsyncSession,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    movements: list[dict[str, Any]],
) -> None:
    if _is_postgres(session):
        await _postgres(session, inserts, updates, movements)
    else:
        await _executemany(session, inserts, updates, movements)


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


async def _executemany(
    session: AsyncSession,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    movements: list[dict[str, Any]],
) -> None:
    # New rows go straight to the driver's executemany: SQLAlchemy's per-value
    # bind processing was a third of the import's CPU. The values are encoded the
    # way SQLAlchemy stores them on SQLite (uuid hex, "YYYY-MM-DD HH:MM:SS.ffffff").
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    if inserts:
        await raw.executemany(_SQLITE_PRODUCT, [_product_row(row) for row in inserts])
    if updates:
        stmt = (
            update(PRODUCT)
            .where(PRODUCT.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in _UPDATED})
        )
        await session.execute(stmt, [{**row, "b_id": row["id"]} for row in updates])
    if movements:
        await raw.executemany(_SQLITE_LEDGER, [_ledger_row(row) for row in movements])


_PRODUCT_COLUMNS = (
    "id", "sku", "slug", "name", "description", "price_cents", "stock", "category_id",
    "is_active", "attributes", "version", "created_at", "updated_at", "import_job_id",
)  # fmt: skip
_SQLITE_PRODUCT = (
    f"INSERT INTO product ({', '.join(_PRODUCT_COLUMNS)}) "  # noqa: S608 - constant names
    f"VALUES ({', '.join('?' * len(_PRODUCT_COLUMNS))})"
)
_SQLITE_LEDGER = (
    f"INSERT INTO stock_movement ({', '.join(_LEDGER_COLUMNS)}) "  # noqa: S608 - constant names
    f"VALUES ({', '.join('?' * len(_LEDGER_COLUMNS))})"
)


def _hex(value: uuid.UUID | None) -> str | None:
    return value.hex if value is not None else None


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _product_row(row: dict[str, Any]) -> tuple[Any, ...]:
    created = _timestamp(row["created_at"])
    return (
        row["id"].hex, row["sku"], row["slug"], row["name"], row["description"],
        row["price_cents"], row["stock"], _hex(row["category_id"]), int(row["is_active"]), "{}",
        row["version"], created, created, _hex(row["import_job_id"]),
    )  # fmt: skip


def _ledger_row(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["id"].hex, row["product_id"].hex, row["delta"], row["reason"], row["note"],
        row["stock_after"], _hex(row["actor_id"]), _timestamp(row["created_at"]),
    )  # fmt: skip


async def _postgres(
    session: AsyncSession,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    movements: list[dict[str, Any]],
) -> None:
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    if inserts or updates:
        await session.execute(_CREATE_STAGE)
        staged = [_staged(row, True) for row in inserts] + [_staged(row, False) for row in updates]
        await raw.copy_records_to_table("import_stage", records=staged, columns=_STAGE_COLUMNS)
        if inserts:
            await session.execute(_INSERT_NEW)
        if updates:
            await session.execute(_UPDATE_EXISTING)
    if movements:
        records = [tuple(row[name] for name in _LEDGER_COLUMNS) for row in movements]
        await raw.copy_records_to_table("stock_movement", records=records, columns=_LEDGER_COLUMNS)


def _staged(row: dict[str, Any], is_new: bool) -> tuple[Any, ...]:
    return (
        row["id"], row.get("sku"), row.get("slug"), row["name"], row["description"],
        row["price_cents"], row["stock"], row["category_id"], row["is_active"], row["version"],
        row.get("created_at", row["updated_at"]), row["updated_at"], row["import_job_id"], is_new,
    )  # fmt: skip
