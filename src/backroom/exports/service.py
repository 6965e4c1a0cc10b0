"""The rows of every export, read in keyset-paged batches and encoded batch by batch.

Memory stays flat whatever the table size: one batch is held at a time, and each
batch is its own short read on the autocommit engine (the connection goes back to
the pool between batches), so a slow client never pins a pooled connection for a
whole download. The price is that an export is not a snapshot: a row changed
while the export runs may appear with either version.

The product format is shared with the importer (``backroom.imports``): change
both or neither.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, String, bindparam, case, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from backroom.catalog.models import Category, Product
from backroom.db import Prepared
from backroom.errors import Unprocessable
from backroom.exports import Format
from backroom.orders.models import Order, OrderLine

# Rows per read. Big enough that a round trip costs little per row, small enough that
# a batch (a few MB) never matters. Read at call time, so tests can shrink them.
BATCH_SIZE = 5_000
# Orders per read: each brings 1-100 lines, so this bounds a batch at 50,000 rows.
ORDER_BATCH_SIZE = 500

PRODUCT_COLUMNS = (
    "sku", "name", "description", "price_cents", "stock", "category_slug", "is_active",
)  # fmt: skip
ORDER_COLUMNS = (
    "order_id", "order_number", "created_at", "paid_at", "status", "customer_id", "currency",
    "subtotal_cents", "discount_cents", "tax_cents", "shipping_cents", "total_cents",
    "coupon_code", "line_number", "product_id", "sku", "name", "unit_price_cents", "quantity",
    "line_total_cents",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Chunk:
    """Encoded bytes, and how many data rows they hold (for progress bars)."""

    rows: int
    data: bytes


def _products_statement(fmt: Format) -> Prepared:
    p, c = Product.__table__.c, Category.__table__.c
    active: Any = p.is_active
    if fmt is Format.CSV:
        # Written the way the importer reads it; the database does it for free.
        active = case((p.is_active, literal("true", String)), else_=literal("false", String))
    stmt = (
        select(
            p.sku,
            p.name,
            p.description,
            p.price_cents,
            p.stock,
            c.slug.label("category_slug"),
            active.label("is_active"),
        )
        .select_from(Product.__table__.outerjoin(Category.__table__, c.id == p.category_id))
        .where(p.deleted_at.is_(None), p.sku > bindparam("after", type_=String))
        .order_by(p.sku)
        .limit(bindparam("limit"))
    )
    # Prepared: on PostgreSQL the rows come straight from asyncpg, without SQLAlchemy's
    # per-row result processing, which would cost more than the query.
    return Prepared(stmt)


_PRODUCTS = {fmt: _products_statement(fmt) for fmt in Format}
_COUNT = Prepared(
    select(func.count().label("n")).select_from(Product).where(Product.deleted_at.is_(None))
)


async def count_products(engine: AsyncEngine) -> int:
    """Live products: what a product export will write."""
    row = await _COUNT.one(engine, {})
    return int(row["n"]) if row is not None else 0


async def _product_batches(
    engine: AsyncEngine, statement: Prepared
) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
    after = ""  # every SKU is at least one character, so this is before the first
    while True:
        size = BATCH_SIZE
        rows = await statement.all(engine, {"after": after, "limit": size})
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1]["sku"]


def _csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    # The csv module's default (excel) dialect: QUOTE_MINIMAL, "\r\n" line ends.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


async def products(engine: AsyncEngine, fmt: Format) -> AsyncGenerator[Chunk, None]:
    """Every live product, by SKU, encoded as ``fmt``; a CSV starts with its header."""
    header = _csv_bytes([PRODUCT_COLUMNS]) if fmt is Format.CSV else b""
    async for rows in _product_batches(engine, _PRODUCTS[fmt]):
        if fmt is Format.CSV:
            # The columns come in PRODUCT_COLUMNS order; None (no category) is written "".
            data = _csv_bytes(row.values() for row in rows)
        else:
            data = b"".join(
                orjson.dumps(dict(row), option=orjson.OPT_APPEND_NEWLINE) for row in rows
            )
        yield Chunk(len(rows), header + data)
        header = b""
    if header:  # no products: the header alone
        yield Chunk(0, header)


@dataclass(frozen=True, slots=True)
class Period:
    """Orders created in ``[start, end)``, either side open when None."""

    start: datetime | None = None
    end: datetime | None = None


def period(first_day: date | None, last_day: date | None) -> Period:
    """Inclusive UTC dates as a half-open range of instants."""
    if first_day is not None and last_day is not None and first_day > last_day:
        raise Unprocessable.field("from", "must not be after to")
    start = datetime.combine(first_day, time(), UTC) if first_day is not None else None
    end = None
    if last_day is not None and last_day < date.max:  # the last representable day: open
        end = datetime.combine(last_day + timedelta(days=1), time(), UTC)
    return Period(start, end)


def _orders_statement(within: Period, after: tuple[datetime, uuid.UUID] | None) -> Select[Any]:
    o, line = Order.__table__.c, OrderLine.__table__.c
    page = select(
        o.id, o.number, o.created_at, o.paid_at, o.status, o.customer_id, o.currency,
        o.subtotal_cents, o.discount_cents, o.tax_cents, o.shipping_cents, o.total_cents,
        o.coupon_code,
    )  # fmt: skip
    if within.start is not None:
        page = page.where(o.created_at >= within.start)
    if within.end is not None:
        page = page.where(o.created_at < within.end)
    if after is not None:
        page = page.where(tuple_(o.created_at, o.id) > tuple_(*after))
    batch = page.order_by(o.created_at, o.id).limit(ORDER_BATCH_SIZE).subquery()
    # LEFT JOIN so every order of the batch shows up (a batch shorter than the limit
    # is the end); a line-less order, which checkout never makes, writes no line.
    return (
        select(
            batch,
            line.position,
            line.product_id,
            line.sku,
            line.name,
            line.unit_price_cents,
            line.quantity,
            line.line_total_cents,
        )
        .select_from(batch.outerjoin(OrderLine.__table__, line.order_id == batch.c.id))
        .order_by(batch.c.created_at, batch.c.id, line.position)
    )


def _timestamp(value: datetime | None) -> str:
    # As in the JSON responses: RFC 3339 in UTC with a Z.
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


_CREATED, _PAID, _LINE = (ORDER_COLUMNS.index(c) for c in ("created_at", "paid_at", "line_number"))


def _order_line(row: Sequence[Any]) -> list[Any]:
    """The statement's columns are ORDER_COLUMNS, the line's position standing for its number."""
    out = list(row)
    out[_CREATED], out[_PAID] = _timestamp(row[_CREATED]), _timestamp(row[_PAID])
    out[_LINE] = row[_LINE] + 1  # positions count from 0, line numbers from 1
    return out


async def orders(engine: AsyncEngine, within: Period) -> AsyncGenerator[Chunk, None]:
    """One CSV line per order line, orders by (created_at, id), lines in order."""
    header = _csv_bytes([ORDER_COLUMNS])
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with engine.connect() as conn:
            rows = (await conn.execute(_orders_statement(within, after))).all()
        lines = [_order_line(row) for row in rows if row.position is not None]
        yield Chunk(len(lines), header + _csv_bytes(lines))
        header = b""
        if len({row.id for row in rows}) < ORDER_BATCH_SIZE:
            return
        after = (rows[-1].created_at, rows[-1].id)
