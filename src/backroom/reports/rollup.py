"""The sales rollup: written by the order transitions, read by the reports.

An order counts in the reports while its status is ``paid``, ``shipped`` or
``delivered``, on the UTC day of its ``paid_at``. The one transition into that set
(pay) adds the order to its day and month; the transitions out of it (cancel after
payment, refund) take it away again — in the same transaction as the status change,
which is a conditional UPDATE only one racer wins, so the rollup changes exactly
once per transition and never disagrees with the orders table.

``rebuild`` recomputes every table from the orders (``backroom reports rebuild``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Insert,
    Integer,
    Select,
    String,
    cast,
    delete,
    func,
    insert,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from backroom.db import SQLITE_IMMEDIATE
from backroom.orders.models import Order, OrderLine, OrderStatus
from backroom.reports.models import (
    CustomerSalesMonth,
    CustomerSalesQuarter,
    ProductSalesDay,
    ProductSalesMonth,
    ProductSalesQuarter,
    SalesDay,
)

COUNTED = frozenset(
    {OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value}
)
SHARDS = 8  # rows per day in sales_day: concurrent payments spread over them
_SALES = ("orders", "units", "gross_cents", "discount_cents", "tax_cents")
_PRODUCT = ("orders", "units", "revenue_cents")
_CUSTOMER = ("orders", "net_cents")
UNITS = ("day", "month", "quarter")


def counts(status: str) -> bool:
    return status in COUNTED


def _upsert(dialect: str, table: Any, keys: Sequence[str], measures: Sequence[str]) -> Insert:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET m = m + excluded.m, for both dialects."""
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = build(table)
    additions = {m: getattr(table.c, m) + getattr(statement.excluded, m) for m in measures}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=additions)


async def apply(session: AsyncSession, *, order: Order, paid_at: datetime, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) one order on its paid day and month. Call
    inside the transaction that changes the order's status."""
    day = paid_at.astimezone(UTC).date()
    month = day.replace(day=1)
    o = OrderLine.__table__.c
    per_product = (
        await session.execute(
            select(o.product_id, func.sum(o.quantity), func.sum(o.line_total_cents))
            .where(o.order_id == order.id)
            .group_by(o.product_id)
            .order_by(o.product_id)  # one lock order for every transaction: no deadlocks
        )
    ).all()
    dialect = session.get_bind().dialect.name
    units = sum(int(row[1]) for row in per_product)
    net = order.subtotal_cents - order.discount_cents
    await session.execute(
        _upsert(dialect, SalesDay.__table__, ("day", "shard"), _SALES),
        {"day": day, "shard": random.randrange(SHARDS),  # noqa: S311 - spreading, not secrecy  # nosec B311
         "orders": sign, "units": sign * units, "gross_cents": sign * order.subtotal_cents,
         "discount_cents": sign * order.discount_cents, "tax_cents": sign * order.tax_cents},
    )  # fmt: skip
    quarter = month.replace(month=month.month - (month.month - 1) % 3)
    for table, key, when in (
        (ProductSalesDay, "day", day), (ProductSalesMonth, "month", month),
        (ProductSalesQuarter, "quarter", quarter),
    ):  # fmt: skip
        if per_product:
            await session.execute(
                _upsert(dialect, table.__table__, (key, "product_id"), _PRODUCT),
                [{key: when, "product_id": pid, "orders": sign, "units": sign * int(qty),
                  "revenue_cents": sign * int(total)} for pid, qty, total in per_product],
            )  # fmt: skip
    for per_customer, key, when in ((CustomerSalesMonth, "month", month),
                                    (CustomerSalesQuarter, "quarter", quarter)):  # fmt: skip
        await session.execute(
            _upsert(dialect, per_customer.__table__, (key, "customer_id"), _CUSTOMER),
            {key: when, "customer_id": order.customer_id, "orders": sign,
             "net_cents": sign * net},
        )  # fmt: skip


def paid_day(dialect: str, unit: str = "day") -> Any:
    """The UTC day of ``paid_at``, or the first day of its month or quarter, in SQL."""
    paid_at = Order.__table__.c.paid_at
    if dialect == "postgresql":
        utc = func.timezone("UTC", paid_at)
        return cast(utc if unit == "day" else func.date_trunc(unit, utc), Date)
    # SQLite keeps UTC timestamps as naive 'YYYY-MM-DD HH:MM:SS' text.
    if unit == "day":
        return type_coerce(func.date(paid_at), Date)
    if unit == "month":
        return type_coerce(func.date(paid_at, "start of month"), Date)
    back = (cast(func.strftime("%m", paid_at), Integer) - 1) % 3  # months since the quarter began
    return type_coerce(
        func.date(paid_at, "start of month", "-" + cast(back, String) + " months"), Date
    )


def _rebuilds(dialect: str) -> list[tuple[Any, Sequence[str], Select[Any]]]:
    """(table, columns, SELECT from the orders) for each rollup table."""
    o, line = Order.__table__.c, OrderLine.__table__.c
    counted = o.status.in_(sorted(COUNTED))
    lines = Order.__table__.join(OrderLine.__table__, line.order_id == o.id)
    units = select(func.coalesce(func.sum(line.quantity), 0)).where(line.order_id == o.id)
    day, month, quarter = (paid_day(dialect, unit).label(unit) for unit in UNITS)
    totals = select(day, cast(0, SalesDay.__table__.c.shard.type), func.count(),
                    func.sum(units.scalar_subquery()), func.sum(o.subtotal_cents),
                    func.sum(o.discount_cents), func.sum(o.tax_cents))  # fmt: skip
    plan: list[tuple[Any, Sequence[str], Select[Any]]] = [
        (SalesDay, ("day", "shard", *_SALES), totals.where(counted).group_by(day))
    ]
    for table, key in ((ProductSalesDay, day), (ProductSalesMonth, month),
                       (ProductSalesQuarter, quarter)):  # fmt: skip
        per_product = select(key, line.product_id, func.count(func.distinct(o.id)),
                             func.sum(line.quantity), func.sum(line.line_total_cents))  # fmt: skip
        source = per_product.select_from(lines).where(counted).group_by(key, line.product_id)
        plan.append((table, (key.name, "product_id", *_PRODUCT), source))
    for customer_table, key in ((CustomerSalesMonth, month), (CustomerSalesQuarter, quarter)):
        per_customer = select(key, o.customer_id, func.count(),
                              func.sum(o.subtotal_cents - o.discount_cents))  # fmt: skip
        source = per_customer.where(counted).group_by(key, o.customer_id)
        plan.append((customer_table, (key.name, "customer_id", *_CUSTOMER), source))
    return plan


async def rebuild(conn: AsyncConnection) -> dict[str, int]:
    """Recompute the rollup from the orders, in the caller's transaction; returns the
    rows written per table. Payments made meanwhile wait for it (PostgreSQL: EXCLUSIVE
    table locks; SQLite: the one writer), then add themselves on top of its result."""
    plan = _rebuilds(conn.dialect.name)
    if conn.dialect.name == "postgresql":
        names = ", ".join(table.__tablename__ for table, _, _ in plan)
        await conn.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    written = {}
    for table, columns, source in plan:
        await conn.execute(delete(table))
        result = await conn.execute(insert(table).from_select(list(columns), source))
        written[table.__tablename__] = int(result.rowcount or 0)
    return written


async def rebuild_all(engine: AsyncEngine) -> dict[str, int]:
    """``rebuild`` in a transaction of its own (SQLite: BEGIN IMMEDIATE, the writer's lock
    taken up front rather than failing to upgrade half-way)."""
    async with engine.execution_options(**{SQLITE_IMMEDIATE: True}).begin() as conn:
        return await rebuild(conn)
