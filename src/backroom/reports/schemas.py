"""Report shapes. Every row model's fields, in order, are its CSV columns."""

from __future__ import annotations

import enum
import uuid
from datetime import date

from pydantic import BaseModel


class Granularity(enum.StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting Monday
    MONTH = "month"  # calendar months


class RankBy(enum.StrEnum):
    REVENUE = "revenue"
    UNITS = "units"


class SalesTotals(BaseModel):
    orders: int
    units: int
    gross_cents: int
    discount_cents: int
    tax_cents: int
    net_cents: int


class SalesRow(BaseModel):
    period_start: date  # the first day of the period (a Monday for weeks, the 1st for months)
    orders: int
    units: int
    gross_cents: int
    discount_cents: int
    tax_cents: int
    net_cents: int


class SalesReport(BaseModel):
    currency: str
    granularity: Granularity
    rows: list[SalesRow]
    totals: SalesTotals


class ProductRow(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    units: int
    revenue_cents: int


class TopProductsReport(BaseModel):
    rows: list[ProductRow]


class LowStockRow(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    stock: int


class InventoryReport(BaseModel):
    total_skus: int
    total_units: int
    stock_value_cents: int
    out_of_stock_count: int
    low_stock: list[LowStockRow]


class CustomerRow(BaseModel):
    customer_id: uuid.UUID
    email: str
    full_name: str
    orders: int
    net_cents: int


class CustomersReport(BaseModel):
    rows: list[CustomerRow]
