"""The sales rollup the reports read, filled from the orders already there

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 14:00:00

``sales_day``: order-level totals per UTC day (a few shard rows a day, so
concurrent payments don't queue on one row); ``product_sales_day``, ``_month``
and ``_quarter``: per product; ``customer_sales_month`` and ``_quarter``: per
customer.
From here on the order transitions keep them in step. ``paid_at`` gets an index:
the days at a window's edges are read from the orders.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_COUNTED = "o.status IN ('paid', 'shipped', 'delivered')"
_PRODUCT = ("orders", "units", "revenue_cents")


def _table(
    name: str, key: str, other: tuple[str, sa.types.TypeEngine[Any]], *measures: str
) -> None:
    op.create_table(
        name,
        sa.Column(key, sa.Date(), nullable=False),
        sa.Column(other[0], other[1], nullable=False),
        *(sa.Column(m, sa.BigInteger(), nullable=False) for m in measures),
        sa.PrimaryKeyConstraint(key, other[0], name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _table("sales_day", "day", ("shard", sa.SmallInteger()),
           "orders", "units", "gross_cents", "discount_cents", "tax_cents")  # fmt: skip
    _table("product_sales_day", "day", ("product_id", sa.Uuid()), *_PRODUCT)
    for unit in ("month", "quarter"):
        _table(f"product_sales_{unit}", unit, ("product_id", sa.Uuid()), *_PRODUCT)
        _table(f"customer_sales_{unit}", unit, ("customer_id", sa.Uuid()), "orders", "net_cents")
    with op.batch_alter_table("customer_order") as batch_op:
        batch_op.create_index("ix_customer_order_paid", ["paid_at"], unique=False)
    _fill()


def _fill() -> None:
    """Plain SQL, not the app's rebuild: a migration must not change when the models do."""
    if op.get_bind().dialect.name == "sqlite":
        day, month = "date(o.paid_at)", "date(o.paid_at, 'start of month')"
        back = "((CAST(strftime('%m', o.paid_at) AS INTEGER) - 1) % 3)"  # months into the quarter
        quarter = f"date(o.paid_at, 'start of month', '-' || {back} || ' months')"
    else:
        day = "CAST(o.paid_at AT TIME ZONE 'UTC' AS date)"
        month = "CAST(date_trunc('month', o.paid_at AT TIME ZONE 'UTC') AS date)"
        quarter = "CAST(date_trunc('quarter', o.paid_at AT TIME ZONE 'UTC') AS date)"
    lines = "FROM customer_order o JOIN order_line l ON l.order_id = o.id"
    per_product = "count(DISTINCT o.id), sum(l.quantity), sum(l.line_total_cents)"
    periods = (("month", month), ("quarter", quarter))
    # Fixed SQL fragments defined above; no outside input reaches these statements.
    for statement in (
        f"INSERT INTO sales_day SELECT {day}, 0, count(*), sum(coalesce((SELECT "  # nosec B608
        "sum(l.quantity) FROM order_line l WHERE l.order_id = o.id), 0)), sum(o.subtotal_cents), "
        f"sum(o.discount_cents), sum(o.tax_cents) FROM customer_order o WHERE {_COUNTED} "
        "GROUP BY 1",
        f"INSERT INTO product_sales_day SELECT {day}, l.product_id, {per_product} {lines} "
        f"WHERE {_COUNTED} GROUP BY 1, 2",
        *(
            f"INSERT INTO product_sales_{unit} SELECT {start}, l.product_id, {per_product} "
            f"{lines} WHERE {_COUNTED} GROUP BY 1, 2"
            for unit, start in periods
        ),
        *(
            f"INSERT INTO customer_sales_{unit} SELECT {start}, o.customer_id, count(*), "  # nosec B608
            f"sum(o.subtotal_cents - o.discount_cents) FROM customer_order o WHERE {_COUNTED} "
            "GROUP BY 1, 2"
            for unit, start in periods
        ),
    ):
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("customer_order") as batch_op:
        batch_op.drop_index("ix_customer_order_paid")
    for name in (
        "customer_sales_quarter",
        "customer_sales_month",
        "product_sales_quarter",
        "product_sales_month",
        "product_sales_day",
        "sales_day",
    ):
        op.drop_table(name)
