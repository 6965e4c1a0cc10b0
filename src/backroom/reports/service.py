"""The reports, aggregated in the database; zero-filling and CSV happen here, in Python.

Which orders count: ``paid``, ``shipped`` and ``delivered`` ones, by ``paid_at`` in
UTC. A refunded order, or one cancelled after payment, keeps its ``paid_at`` but not
its status, so it drops out of every report as if it had never been paid.

Every query runs on the autocommit read engine: one statement, no transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Date, Select, and_, cast, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from backroom.catalog.models import Product
from backroom.errors import Unprocessable
from backroom.orders.models import Order, OrderLine, OrderStatus
from backroom.reports.schemas import (
    CustomerRow,
    Granularity,
    InventoryReport,
    LowStockRow,
    ProductRow,
    RankBy,
    SalesReport,
    SalesRow,
    SalesTotals,
)
from backroom.users.models import User

COUNTED = (OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)
DEFAULT_DAYS = 30  # without from/to: the 30 days ending today (UTC)
MAX_DAYS = 3653  # ten years, counting both ends
LOW_STOCK_ROWS = 100


@dataclass(frozen=True, slots=True)
class Window:
    """Inclusive UTC dates."""

    first: date
    last: date

    def where(self) -> ColumnElement[bool]:
        """Counted orders paid within the window."""
        o = Order.__table__.c
        start = datetime.combine(self.first, time(), UTC)
        clauses = [o.status.in_(COUNTED), o.paid_at >= start]
        if self.last < date.max:  # the last representable day has no next midnight
            clauses.append(o.paid_at < datetime.combine(self.last + timedelta(days=1), time(), UTC))
        return and_(*clauses)


def window(first: date | None, last: date | None, *, today: date) -> Window:
    """Validate ``from``/``to``; either missing is filled in (see docs/reports.md)."""
    if last is None:
        last = max(today, first) if first is not None else today
    if first is None:
        first = last - timedelta(days=min(DEFAULT_DAYS - 1, last.toordinal() - 1))
    if first > last:
        raise Unprocessable.field("from", "must not be after to")
    if (last - first).days >= MAX_DAYS:
        raise Unprocessable.field("from", "the range must not exceed ten years")
    return Window(first, last)


def period_start(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())  # ISO: Monday is weekday 0
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def _next_period(start: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return start + timedelta(days=7)
    if granularity is Granularity.MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def period_starts(within: Window, granularity: Granularity) -> list[date]:
    """Every period that overlaps the window, the first one containing ``from``."""
    out = [period_start(within.first, granularity)]
    while True:
        try:
            following = _next_period(out[-1], granularity)
        except (OverflowError, ValueError):  # past date.max
            return out
        if following > within.last:
            return out
        out.append(following)


def bucket(column: Any, granularity: Granularity, dialect: str) -> ColumnElement[date]:
    """The UTC date the period of a timestamp starts: the one dialect-specific piece."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        return cast(func.date_trunc(granularity.value, utc), Date)
    # SQLite keeps UTC timestamps as naive 'YYYY-MM-DD HH:MM:SS' text.
    modifiers = {
        Granularity.DAY: (),
        Granularity.WEEK: ("-6 days", "weekday 1"),  # back to the Monday on or before
        Granularity.MONTH: ("start of month",),
    }[granularity]
    return type_coerce(func.date(column, *modifiers), Date)


def _sales_statement(within: Window, granularity: Granularity, dialect: str) -> Select[Any]:
    o, line = Order.__table__.c, OrderLine.__table__.c
    units = select(func.sum(line.quantity)).where(line.order_id == o.id).scalar_subquery()
    paid = (
        select(
            bucket(o.paid_at, granularity, dialect).label("period"),
            o.subtotal_cents, o.discount_cents, o.tax_cents,
            func.coalesce(units, 0).label("units"),
        )
        .where(within.where())
        .subquery()
    )  # fmt: skip
    return select(
        paid.c.period,
        func.count().label("orders"),
        func.sum(paid.c.units).label("units"),
        func.sum(paid.c.subtotal_cents).label("gross"),
        func.sum(paid.c.discount_cents).label("discount"),
        func.sum(paid.c.tax_cents).label("tax"),
    ).group_by(paid.c.period)


def _sales_row(start: date, found: Any) -> SalesRow:
    if found is None:
        return SalesRow(period_start=start, orders=0, units=0, gross_cents=0,
                        discount_cents=0, tax_cents=0, net_cents=0)  # fmt: skip
    gross, discount = int(found.gross), int(found.discount)
    return SalesRow(
        period_start=start, orders=int(found.orders), units=int(found.units),
        gross_cents=gross, discount_cents=discount, tax_cents=int(found.tax),
        net_cents=gross - discount,
    )  # fmt: skip


async def sales(
    engine: AsyncEngine, *, within: Window, granularity: Granularity, currency: str
) -> SalesReport:
    """Counted orders per period, every period of the window present (zeros when empty)."""
    statement = _sales_statement(within, granularity, engine.dialect.name)
    async with engine.connect() as conn:
        found = {row.period: row for row in await conn.execute(statement)}
    rows = [_sales_row(start, found.get(start)) for start in period_starts(within, granularity)]
    totals = SalesTotals(**{f: sum(getattr(r, f) for r in rows) for f in SalesTotals.model_fields})
    return SalesReport(currency=currency, granularity=granularity, rows=rows, totals=totals)


async def top_products(
    engine: AsyncEngine, *, within: Window, limit: int, by: RankBy
) -> list[ProductRow]:
    """Best sellers of the window; sku and name are the product's, or, once it is
    deleted, from its order lines (the snapshot taken at checkout)."""
    o, line, p = Order.__table__.c, OrderLine.__table__.c, Product.__table__.c
    units = func.sum(line.quantity).label("units")
    revenue = func.sum(line.line_total_cents).label("revenue_cents")
    ranking = (units, revenue) if by is RankBy.UNITS else (revenue, units)
    live = and_(p.id == line.product_id, p.deleted_at.is_(None))
    statement = (
        select(
            line.product_id,
            func.coalesce(func.max(p.sku), func.max(line.sku)).label("sku"),
            func.coalesce(func.max(p.name), func.max(line.name)).label("name"),
            units,
            revenue,
        )
        .select_from(Order.__table__.join(OrderLine.__table__, line.order_id == o.id))
        .outerjoin(Product.__table__, live)
        .where(within.where())
        .group_by(line.product_id)
        .order_by(ranking[0].desc(), ranking[1].desc(), line.product_id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        result = await conn.execute(statement)
        return [ProductRow.model_validate(row, from_attributes=True) for row in result]


async def customers(engine: AsyncEngine, *, within: Window, limit: int) -> list[CustomerRow]:
    """Customers by net revenue (sum of subtotal - discount) in the window, then by orders."""
    o, u = Order.__table__.c, User.__table__.c
    net = func.sum(o.subtotal_cents - o.discount_cents).label("net_cents")
    orders = func.count().label("orders")
    statement = (
        select(o.customer_id, func.max(u.email).label("email"),
               func.max(u.full_name).label("full_name"), orders, net)
        .select_from(Order.__table__.join(User.__table__, u.id == o.customer_id))
        .where(within.where())
        .group_by(o.customer_id)
        .order_by(net.desc(), orders.desc(), o.customer_id)
        .limit(limit)
    )  # fmt: skip
    async with engine.connect() as conn:
        result = await conn.execute(statement)
        return [CustomerRow.model_validate(row, from_attributes=True) for row in result]


async def inventory(engine: AsyncEngine, *, low_stock_threshold: int) -> InventoryReport:
    """Live (not deleted) products, published or not; low stock includes out of stock."""
    p = Product.__table__.c
    live = p.deleted_at.is_(None)
    totals = select(
        func.count().label("total_skus"),
        func.coalesce(func.sum(p.stock), 0).label("total_units"),
        func.coalesce(func.sum(p.stock * p.price_cents), 0).label("stock_value_cents"),
        func.count().filter(p.stock == 0).label("out_of_stock_count"),
    ).where(live)
    low = (
        select(p.id.label("product_id"), p.sku, p.name, p.stock)
        .where(live, p.stock <= low_stock_threshold)
        .order_by(p.stock, p.sku)
        .limit(LOW_STOCK_ROWS)
    )
    async with engine.connect() as conn:
        head = (await conn.execute(totals)).one()
        rows = [
            LowStockRow.model_validate(r, from_attributes=True) for r in await conn.execute(low)
        ]
    return InventoryReport(
        total_skus=head.total_skus, total_units=int(head.total_units),
        stock_value_cents=int(head.stock_value_cents),
        out_of_stock_count=head.out_of_stock_count, low_stock=rows,
    )  # fmt: skip


def csv_bytes(model: type[BaseModel], rows: Sequence[BaseModel]) -> bytes:
    """A header of the row model's fields, then one line per row (excel dialect, CRLF)."""
    columns = list(model.model_fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(_values(row, columns) for row in rows)
    return buffer.getvalue().encode()


def _values(row: BaseModel, columns: Iterable[str]) -> list[Any]:
    dumped = row.model_dump(mode="json")
    return [dumped[c] for c in columns]
