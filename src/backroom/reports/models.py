"""The sales rollup the reports read, kept in step with the orders by the transaction
that changes an order's status (see ``reports/rollup.py``).

Days answer the edges of a window, months its middle: a year's top products reads
about half the rows a day-only rollup would (measured in docs/performance.md)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, SmallInteger, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db import Base


class SalesDay(Base):
    """Order-level totals of one UTC day (by ``paid_at``).

    A day is split over a few ``shard`` rows, each payment adding to a random one,
    so concurrent payments don't all queue on a single row lock; reports sum them."""

    __tablename__ = "sales_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)
    gross_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger)
    tax_cents: Mapped[int] = mapped_column(BigInteger)


class ProductSalesDay(Base):
    """One product's sales on one UTC day: orders with it, units, line totals."""

    __tablename__ = "product_sales_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class ProductSalesMonth(Base):
    """The same per calendar month (``month`` is its first day)."""

    __tablename__ = "product_sales_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class CustomerSalesMonth(Base):
    """One customer's counted orders in a calendar month and their net revenue
    (subtotal - discount). The days at a window's edges come from the orders."""

    __tablename__ = "customer_sales_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)
