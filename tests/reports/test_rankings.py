from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from backroom.catalog.models import Product
from tests.factories import Actors
from tests.reports.helpers import (
    REPORTS,
    Line,
    PlacedOrder,
    add_customer,
    add_orders,
    add_product,
    writer,
)

PAID = datetime(2026, 5, 10, 12, tzinfo=UTC)
WINDOW = "from=2026-05-01&to=2026-05-31"


def _line(product: dict[str, Any], quantity: int, price: int | None = None) -> Line:
    unit = product["price_cents"] if price is None else price
    return Line(product["id"], product["sku"], product["name"], unit, quantity)


async def test_top_products_by_revenue_and_units(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    engine, staff = app.state.ctx.engine, await actors.staff()
    who = (await add_customer(engine))["id"]
    cheap = await add_product(engine, sku="CHEAP", name="Cheap", price_cents=100)
    dear = await add_product(engine, sku="DEAR", name="Dear", price_cents=5000)
    gone = await add_product(engine, sku="GONE", name="Gone", price_cents=700)
    await add_orders(engine, [
        PlacedOrder(who, "paid", PAID, [_line(cheap, 30), _line(dear, 1)]),
        PlacedOrder(who, "delivered", PAID, [_line(gone, 2, price=650)]),
        PlacedOrder(who, "refunded", PAID, [_line(dear, 50)]),
        PlacedOrder(who, "pending_payment", None, [_line(cheap, 90)]),
    ])  # fmt: skip
    async with writer(engine).begin() as conn:  # renamed, then deleted: its last name stands
        await conn.execute(
            update(Product).where(Product.id == gone["id"]).values(name="Renamed", deleted_at=PAID)
        )
    by_revenue = await client.get(f"{REPORTS}/top-products?{WINDOW}", headers=staff.headers)
    assert by_revenue.json()["rows"] == [
        {"product_id": str(dear["id"]), "sku": "DEAR", "name": "Dear", "units": 1,
         "revenue_cents": 5000},
        {"product_id": str(cheap["id"]), "sku": "CHEAP", "name": "Cheap", "units": 30,
         "revenue_cents": 3000},
        {"product_id": str(gone["id"]), "sku": "GONE", "name": "Renamed", "units": 2,
         "revenue_cents": 1300},
    ]  # fmt: skip
    url = f"{REPORTS}/top-products?{WINDOW}&by=units&limit=2"
    by_units = (await client.get(url, headers=staff.headers)).json()["rows"]
    assert [r["sku"] for r in by_units] == ["CHEAP", "GONE"]


async def test_top_customers_by_net_revenue(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    engine, staff = app.state.ctx.engine, await actors.staff()
    ann, bob = await add_customer(engine, "Ann"), await add_customer(engine, "Bob")
    item = await add_product(engine, price_cents=1000)
    await add_orders(engine, [
        PlacedOrder(ann["id"], "paid", PAID, [_line(item, 3)], discount_cents=1500),
        PlacedOrder(bob["id"], "shipped", PAID, [_line(item, 1)]),
        PlacedOrder(bob["id"], "paid", PAID, [_line(item, 1)], tax_cents=99),
        PlacedOrder(ann["id"], "cancelled", PAID, [_line(item, 9)]),
    ])  # fmt: skip
    response = await client.get(f"{REPORTS}/customers?{WINDOW}", headers=staff.headers)
    assert response.json()["rows"] == [
        {"customer_id": str(bob["id"]), "email": bob["email"], "full_name": "Bob",
         "orders": 2, "net_cents": 2000},
        {"customer_id": str(ann["id"]), "email": ann["email"], "full_name": "Ann",
         "orders": 1, "net_cents": 1500},
    ]  # fmt: skip
    csv_response = await client.get(
        f"{REPORTS}/customers?{WINDOW}&limit=1", headers={**staff.headers, "Accept": "text/csv"}
    )
    rows = list(csv.reader(io.StringIO(csv_response.text, newline="")))
    assert rows == [["customer_id", "email", "full_name", "orders", "net_cents"],
                    [str(bob["id"]), bob["email"], "Bob", "2", "2000"]]  # fmt: skip


async def test_inventory(app: FastAPI, client: AsyncClient, actors: Actors) -> None:
    engine, staff = app.state.ctx.engine, await actors.staff()
    await add_product(engine, sku="B", name="B, comma", stock=3, price_cents=200)
    await add_product(engine, sku="A", stock=3, price_cents=100)
    await add_product(engine, sku="Z", stock=0, price_cents=999)
    await add_product(engine, sku="BIG", stock=50, price_cents=10, is_active=False)
    await add_product(engine, sku="DEL", stock=1, price_cents=10, deleted_at=PAID)
    response = await client.get(f"{REPORTS}/inventory?low_stock_threshold=3", headers=staff.headers)
    body = response.json()
    assert {k: v for k, v in body.items() if k != "low_stock"} == {
        "total_skus": 4, "total_units": 56, "stock_value_cents": 1400, "out_of_stock_count": 1,
    }  # fmt: skip
    assert [(r["sku"], r["stock"]) for r in body["low_stock"]] == [("Z", 0), ("A", 3), ("B", 3)]
    csv_response = await client.get(
        f"{REPORTS}/inventory?low_stock_threshold=0",
        headers={**staff.headers, "Accept": "text/csv;q=0.9, application/json;q=0.5"},
    )
    assert csv_response.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_response.text.startswith("product_id,sku,name,stock\r\n")
    assert csv_response.text.count("\r\n") == 2


async def test_empty_inventory_is_zeros(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    body = (await client.get(f"{REPORTS}/inventory", headers=staff.headers)).json()
    assert body == {"total_skus": 0, "total_units": 0, "stock_value_cents": 0,
                    "out_of_stock_count": 0, "low_stock": []}  # fmt: skip


async def test_json_stays_the_default(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    for accept in ("application/json, text/csv", "*/*", "text/html"):
        headers = {**staff.headers, "Accept": accept}
        response = await client.get(f"{REPORTS}/top-products", headers=headers)
        assert response.headers["content-type"] == "application/json", accept
