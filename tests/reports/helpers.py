"""Report test data: orders written straight into the database as unpaid, then moved
to their status through the real order state machine (``orders/lifecycle.py``) with
the clock set to their ``paid_at`` — so the rollup the reports read is kept by the
same code as in production, and many orders are still quick to make."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from backroom.catalog.models import Product
from backroom.db import SQLITE_IMMEDIATE, create_sessionmaker
from backroom.orders import lifecycle
from backroom.orders.models import Order, OrderLine, OrderStatus
from backroom.users.models import User

REPORTS = "/api/v1/reports"
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "X", "postal_code": "1", "country": "US"}
_n = itertools.count()


def writer(engine: AsyncEngine) -> AsyncEngine:
    # BEGIN IMMEDIATE on SQLite: waits out the app's own writes (busy_timeout) instead of
    # failing at once when a deferred transaction cannot upgrade to a writer.
    return engine.execution_options(**{SQLITE_IMMEDIATE: True})


@dataclass
class Line:
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price_cents: int
    quantity: int

    @property
    def total(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass
class PlacedOrder:
    customer_id: uuid.UUID
    status: str
    paid_at: datetime | None
    lines: list[Line]
    discount_cents: int = 0
    tax_cents: int = 0
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    via_delivered: bool = False  # a refund after delivery rather than after shipping

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)


async def add_customer(engine: AsyncEngine, name: str = "") -> dict[str, Any]:
    n = next(_n)
    row = {
        "id": uuid.uuid4(), "email": f"c{n}-{uuid.uuid4().hex[:6]}@example.com",
        "full_name": name or f"Customer {n}", "password_hash": "x", "role": "customer",
    }  # fmt: skip
    async with writer(engine).begin() as conn:
        await conn.execute(insert(User), [row])
    return row


async def add_product(engine: AsyncEngine, **fields: Any) -> dict[str, Any]:
    n = next(_n)
    row = {"id": uuid.uuid4(), "sku": f"R-{n:05d}", "slug": f"r-{n}-{uuid.uuid4().hex[:6]}",
           "name": f"Report product {n}", "price_cents": 100, "stock": 10, **fields}  # fmt: skip
    async with writer(engine).begin() as conn:
        await conn.execute(insert(Product), [row])
    return row


async def add_orders(engine: AsyncEngine, orders: list[PlacedOrder]) -> None:
    order_rows, line_rows = [], []
    for order in orders:
        n = next(_n)
        subtotal = order.subtotal
        total = max(subtotal - order.discount_cents, 0) + order.tax_cents
        order_rows.append({
            "id": order.id, "number": f"R{n:08d}", "status": "pending_payment",
            "customer_id": order.customer_id, "subtotal_cents": subtotal,
            "discount_cents": order.discount_cents, "tax_cents": order.tax_cents,
            "shipping_cents": 0, "total_cents": total, "currency": "USD",
            "shipping_address": ADDRESS, "paid_at": None,
        })  # fmt: skip
        for position, line in enumerate(order.lines):
            line_rows.append({
                "order_id": order.id, "position": position, "product_id": line.product_id,
                "sku": line.sku, "name": line.name, "unit_price_cents": line.unit_price_cents,
                "quantity": line.quantity, "line_total_cents": line.total,
            })  # fmt: skip
    async with writer(engine).begin() as conn:
        if order_rows:
            await conn.execute(insert(Order), order_rows)
        if line_rows:
            await conn.execute(insert(OrderLine), line_rows)
    for order in orders:
        await drive(engine, order)


STAFF = uuid.uuid4()
S = OrderStatus


async def drive(engine: AsyncEngine, order: PlacedOrder) -> None:
    """Move an unpaid order to ``order.status``, paid at ``order.paid_at``."""
    status = S(order.status)
    async with create_sessionmaker(engine)() as session:
        if order.paid_at is None:
            if status is S.CANCELLED:
                await lifecycle.cancel(session=session, order_id=order.id, actor_id=None,
                                       staff=True)  # fmt: skip
            return
        with mock.patch.object(lifecycle, "utcnow", return_value=order.paid_at):
            await lifecycle.pay(session=session, order_id=order.id, customer_id=order.customer_id,
                                provider="test", token="tok_visa")  # fmt: skip
        if status is S.CANCELLED:
            await lifecycle.cancel(session=session, order_id=order.id, actor_id=STAFF, staff=True)
            return
        steps = {S.PAID: [], S.SHIPPED: [S.SHIPPED], S.DELIVERED: [S.SHIPPED, S.DELIVERED],
                 S.REFUNDED: [S.SHIPPED, *([S.DELIVERED] if order.via_delivered else []),
                              S.REFUNDED]}[status]  # fmt: skip
        for target in steps:
            await lifecycle.advance(session=session, order_id=order.id, target=target,
                                    actor_id=STAFF)  # fmt: skip
