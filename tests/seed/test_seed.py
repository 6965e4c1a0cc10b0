"""`backroom seed` on both databases: counts, the money formulas, the stock ledger,
order histories, reproducibility, reruns, and the data read back through the API."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text

from backroom import pricing
from backroom.config import Settings
from backroom.orders.service import _ALPHABET
from backroom.seed import keys
from backroom.seed.plan import Plan
from backroom.seed.service import AlreadySeeded, Summary, seed
from tests.factories import Actors

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SIZES = {"products": 80, "customers": 40, "orders": 400}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # Tax, shipping and a free-shipping threshold, so every formula is exercised.
    return make_settings(tax_rate_bps=825, shipping_cents=599, free_shipping_over_cents=7_500)


async def _seed(app: FastAPI, seed_value: int = 5, **sizes: int) -> Summary:
    ctx = app.state.ctx
    plan = Plan.build(ctx.settings, seed=seed_value, now=NOW, **{**SIZES, **sizes})
    return await seed(engine=ctx.engine, plan=plan)


async def _rows(app: FastAPI, sql: str) -> list[Any]:
    async with app.state.ctx.engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def test_counts_and_summary(app: FastAPI) -> None:
    summary = await _seed(app)
    tag = keys.tag_for(5)
    assert summary.rows["product"] == 80
    assert summary.rows["user_account"] == 40
    assert summary.rows["customer_order"] == 400
    assert 2.5 * 400 < summary.rows["order_line"] < 3.5 * 400  # about three lines an order
    [(products, customers, orders)] = await _rows(app, f"""
        SELECT (SELECT count(*) FROM product WHERE sku LIKE '%-{tag}-%'),
               (SELECT count(*) FROM user_account WHERE role = 'customer'),
               (SELECT count(*) FROM customer_order WHERE number LIKE 'BR-{tag}%')""")  # noqa: S608  # fmt: skip
    assert (products, customers, orders) == (80, 40, 400)
    categories = await _rows(app, "SELECT count(*), count(parent_id) FROM category")
    assert categories[0][0] > categories[0][1] > 0  # a tree: roots and children


async def test_totals_follow_the_pricing_formulas(app: FastAPI, settings: Settings) -> None:
    await _seed(app)
    lines: dict[Any, list[int]] = defaultdict(list)
    for order_id, price, quantity, line_total in await _rows(
        app, "SELECT order_id, unit_price_cents, quantity, line_total_cents FROM order_line"
    ):
        assert line_total == price * quantity
        assert 1 <= quantity <= 5
        lines[order_id].append(line_total)
    orders = await _rows(app, """
        SELECT o.id, o.subtotal_cents, o.discount_cents, o.tax_cents, o.shipping_cents,
               o.total_cents, c.percent_off, c.amount_off_cents, c.min_subtotal_cents
        FROM customer_order o LEFT JOIN coupon c ON c.id = o.coupon_id""")  # fmt: skip
    discounted = 0
    for order_id, *stored, percent, amount, minimum in orders:
        assert 1 <= len(lines[order_id]) <= 5
        discount = None if minimum is None else pricing.Discount(percent, amount, minimum)
        expected = pricing.totals(
            lines[order_id], discount, tax_rate_bps=settings.tax_rate_bps,
            shipping_cents=settings.shipping_cents,
            free_shipping_over_cents=settings.free_shipping_over_cents,
        )  # fmt: skip
        assert tuple(stored) == (
            expected.subtotal_cents, expected.discount_cents, expected.tax_cents,
            expected.shipping_cents, expected.total_cents,
        )  # fmt: skip
        discounted += stored[1] > 0
    assert discounted > 0


async def test_stock_equals_the_sum_of_movements(app: FastAPI) -> None:
    # Many orders over few products: open orders take stock, some need a restock first.
    await _seed(app, products=20, orders=3_000)
    stock = dict(await _rows(app, "SELECT id, stock FROM product"))
    ledgers: dict[Any, list[tuple[int, int, str, str]]] = defaultdict(list)
    for product_id, delta, after, reason, note in await _rows(app, """
        SELECT product_id, delta, stock_after, reason, note FROM stock_movement
        ORDER BY created_at, id"""):  # fmt: skip
        ledgers[product_id].append((delta, after, reason, note))
    for product_id, current in stock.items():
        running = 0
        for delta, after, reason, note in ledgers[product_id]:
            running += delta
            assert after == running >= 0
            assert (reason, note[:6]) in {("restock", "seed"), ("order", "order ")}
        assert running == current
        assert not ledgers[product_id] or ledgers[product_id][0][2] == "restock"


async def test_open_orders_hold_their_stock(app: FastAPI) -> None:
    """Only orders that can still be cancelled (returning stock) took any."""
    await _seed(app, products=20, orders=3_000)
    held = sorted(
        (f"order {number}", _id(product_id), -quantity)
        for number, product_id, quantity in await _rows(app, """
            SELECT o.number, l.product_id, l.quantity FROM customer_order o
            JOIN order_line l ON l.order_id = o.id
            WHERE o.status IN ('pending_payment', 'paid')""")
    )  # fmt: skip
    taken = sorted(
        (note, _id(product_id), delta)
        for note, product_id, delta in await _rows(
            app, "SELECT note, product_id, delta FROM stock_movement WHERE reason = 'order'"
        )
    )
    assert held and held == taken


async def test_statuses_history_and_payments_agree(app: FastAPI) -> None:
    await _seed(app)
    events: dict[Any, list[tuple[str | None, str]]] = defaultdict(list)
    for order_id, source, target in await _rows(
        app, "SELECT order_id, from_status, to_status FROM order_event ORDER BY created_at, id"
    ):
        events[order_id].append((source, target))
    paid = {oid for (oid,) in await _rows(app, "SELECT order_id FROM payment")}
    seen = set()
    for order_id, status, paid_at, created, updated in await _rows(
        app, "SELECT id, status, paid_at, created_at, updated_at FROM customer_order"
    ):
        seen.add(status)
        chain = events[order_id]
        assert chain[0] == (None, "pending_payment")
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))
        assert chain[-1][1] == status
        went_paid = any(target == "paid" for _, target in chain)
        assert (paid_at is not None) == went_paid == (order_id in paid)
        if status in {"paid", "shipped", "delivered", "refunded"}:
            assert paid_at is not None and created <= paid_at <= updated
        if status == "pending_payment":
            assert paid_at is None
    assert {"delivered", "cancelled", "refunded"} <= seen


async def test_orders_come_after_their_customer_and_products(app: FastAPI) -> None:
    await _seed(app, customers=3, products=10)
    [(early_buyers, early_products, months)] = await _rows(app, """
        SELECT
          (SELECT count(*) FROM customer_order o JOIN user_account u ON u.id = o.customer_id
           WHERE u.created_at > o.created_at),
          (SELECT count(*) FROM order_line l JOIN customer_order o ON o.id = l.order_id
           JOIN product p ON p.id = l.product_id WHERE p.created_at > o.created_at),
          (SELECT count(DISTINCT substr(CAST(created_at AS TEXT), 1, 7)) FROM customer_order)
        """)  # fmt: skip
    assert (early_buyers, early_products) == (0, 0)
    assert months > 20  # months with orders: spread over two years


async def test_order_numbers_and_coupon_redemptions(app: FastAPI) -> None:
    await _seed(app)
    assert keys.ALPHABET == _ALPHABET  # the app's own number format
    numbers = [n for (n,) in await _rows(app, "SELECT number FROM customer_order")]
    pattern = re.compile(rf"^BR-[{_ALPHABET}]{{10}}$")
    assert all(pattern.match(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    for code, redemptions, used, limit in await _rows(app, """
        SELECT c.code, c.redemptions, count(o.id), c.max_redemptions
        FROM coupon c LEFT JOIN customer_order o ON o.coupon_id = c.id
        GROUP BY c.id, c.code, c.redemptions, c.max_redemptions"""):  # fmt: skip
        assert redemptions == used, code
        assert limit is None or redemptions <= limit


_DUMP = (
    "SELECT id, sku, slug, name, description, price_cents, stock, category_id, is_active, "
    "attributes, created_at FROM product ORDER BY sku",
    "SELECT id, email, full_name, created_at FROM user_account ORDER BY email",
    "SELECT id, number, status, customer_id, total_cents, coupon_code, shipping_address, "
    "created_at, updated_at, paid_at, carrier, tracking_number FROM customer_order ORDER BY id",
    "SELECT * FROM order_line ORDER BY id",
    "SELECT * FROM order_event ORDER BY id",
    "SELECT * FROM payment ORDER BY id",
)
_WIPE = [
    f"DELETE FROM {table}"  # noqa: S608 - constants
    for table in ("payment", "order_event", "order_line", "customer_order", "stock_movement",
                  "product", "coupon", "user_account")
] + ["DELETE FROM category WHERE parent_id IS NOT NULL", "DELETE FROM category"]  # fmt: skip


async def test_same_seed_same_data(app: FastAPI) -> None:
    await _seed(app, seed_value=11)
    first = [await _rows(app, sql) for sql in _DUMP]
    async with app.state.ctx.engine.begin() as conn:
        for statement in _WIPE:
            await conn.execute(text(statement))
    await _seed(app, seed_value=11)
    second = [await _rows(app, sql) for sql in _DUMP]
    assert first == second
    await _seed(app, seed_value=12)  # another seed: other data, alongside
    third = await _rows(app, _DUMP[0])
    assert len(third) == 2 * SIZES["products"]
    assert {row[3] for row in third} != {row[3] for row in first[0]}


async def test_same_seed_twice_is_refused_and_changes_nothing(app: FastAPI) -> None:
    await _seed(app)
    with pytest.raises(AlreadySeeded, match="already written"):
        await _seed(app)
    [(orders,)] = await _rows(app, "SELECT count(*) FROM customer_order")
    assert orders == SIZES["orders"]


async def test_refuses_orders_without_products_or_customers(app: FastAPI) -> None:
    with pytest.raises(ValueError, match="at least one product"):
        await _seed(app, products=0)
    summary = await _seed(app, orders=0, customers=0)  # a catalog alone is fine
    assert summary.rows["product"] == SIZES["products"]


async def test_seeded_data_reads_through_the_api(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    await _seed(app)
    staff = await actors.staff()
    [(order_id, total, lines, product_id)] = await _rows(app, """
        SELECT o.id, o.total_cents, (SELECT count(*) FROM order_line l WHERE l.order_id = o.id),
               (SELECT l.product_id FROM order_line l WHERE l.order_id = o.id AND l.position = 0)
        FROM customer_order o ORDER BY o.created_at DESC LIMIT 1""")  # fmt: skip
    oid = _id(order_id)
    order = await client.get(f"/api/v1/orders/{oid}", headers=staff.headers)
    assert order.status_code == 200, order.text
    body = order.json()
    assert body["total_cents"] == total and len(body["items"]) == lines
    assert body["shipping_address"]["country"]
    history = await client.get(f"/api/v1/orders/{oid}/history", headers=staff.headers)
    assert history.status_code == 200, history.text
    listed = await client.get("/api/v1/orders?limit=100", headers=staff.headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 100
    products = await client.get("/api/v1/products?limit=100")
    assert products.status_code == 200
    assert any(f"-{keys.tag_for(5)}-" in p["sku"] for p in products.json()["items"])
    pid = _id(product_id)
    ledger = await client.get(f"/api/v1/products/{pid}/stock-movements", headers=staff.headers)
    assert ledger.status_code == 200, ledger.text


async def test_seeded_customers_cannot_sign_in(app: FastAPI, client: AsyncClient) -> None:
    await _seed(app)
    [(email,)] = await _rows(app, "SELECT min(email) FROM user_account")
    for password in ("", "password", "correct-horse-battery-9", "seed"):
        response = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": password or "x"}
        )
        assert response.status_code == 401


def _id(value: Any) -> str:
    """An id as the API spells it (SQLite hands back 32 hex digits, PostgreSQL a UUID)."""
    return str(uuid.UUID(str(value)))
