"""The sales rollup the reports read, kept in step with the orders by the transaction
that changes an order's status (see ``reports/rollup.py``).

Days answer the edges of a window, months and quarters its middle: a year's top
products reads well under half the rows a day-only rollup would (measured in
docs/performance.md)."""

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


class _ProductSales:
    """One product's sales in one period: orders with it, units, line totals."""

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class ProductSalesDay(_ProductSales, Base):
    __tablename__ = "product_sales_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ProductSalesMonth(_ProductSales, Base):
    __tablename__ = "product_sales_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day


class ProductSalesQuarter(_ProductSales, Base):
    __tablename__ = "product_sales_quarter"

    quarter: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day


class _CustomerSales:
    """One customer's counted orders in a period and their net revenue (subtotal -
    discount). The days at a window's edges come from the orders."""

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)


class CustomerSalesMonth(_CustomerSales, Base):
    __tablename__ = "customer_sales_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)


class CustomerSalesQuarter(_CustomerSales, Base):
    __tablename__ = "customer_sales_quarter"

    quarter: Mapped[date] = mapped_column(Date, primary_key=True)
