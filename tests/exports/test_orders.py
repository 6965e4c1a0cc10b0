from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from backroom.exports import service
from backroom.orders.models import Order
from tests.catalog.helpers import create_product
from tests.exports.helpers import EXPORTS, download
from tests.factories import Actor, Actors
from tests.test_http_conventions import assert_problem

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "X", "postal_code": "1", "country": "US"}


async def _order(
    app: FastAPI, client: AsyncClient, user: Actor, items: list[tuple[dict[str, Any], int]],
    created_at: datetime,
) -> dict[str, Any]:  # fmt: skip
    body = {
        "shipping_address": ADDRESS,
        "items": [{"product_id": p["id"], "quantity": q} for p, q in items],
    }
    response = await client.post("/api/v1/orders", headers=user.headers, json=body)
    assert response.status_code == 201, response.text
    order = dict(response.json())
    # Orders are stamped "now": move this one to the day the test needs.
    async with app.state.ctx.engine.begin() as conn:
        stmt = update(Order).where(Order.id == uuid.UUID(order["id"])).values(created_at=created_at)
        await conn.execute(stmt)
    return order


@pytest.fixture
async def history(app: FastAPI, client: AsyncClient, actors: Actors) -> dict[str, Any]:
    """Three orders around a midnight (UTC): the first with two lines."""
    staff, user = await actors.staff(), await actors.customer()
    mug = await create_product(
        client, staff, sku="MUG", name='Mug, "big"', price_cents=1250, stock=50
    )
    tee = await create_product(client, staff, sku="TEE", name="Tée", price_cents=999, stock=50)
    first = await _order(
        app, client, user, [(mug, 2), (tee, 1)], datetime(2026, 11, 1, 10, tzinfo=UTC)
    )
    late = await _order(
        app, client, user, [(tee, 3)], datetime(2026, 11, 2, 23, 59, 59, 999999, tzinfo=UTC)
    )
    next_day = await _order(app, client, user, [(mug, 1)], datetime(2026, 11, 3, tzinfo=UTC))
    return {"staff": staff, "user": user, "mug": mug, "tee": tee,
            "orders": [first, late, next_day]}  # fmt: skip


def _rows(body: bytes) -> list[dict[str, str]]:
    text = body.decode()
    assert text.startswith(",".join(service.ORDER_COLUMNS) + "\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_one_line_per_order_line(client: AsyncClient, history: dict[str, Any]) -> None:
    staff, user, mug = history["staff"], history["user"], history["mug"]
    first, late, next_day = history["orders"]
    response = await client.get(f"{EXPORTS}/orders.csv", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="orders_start_end.csv"'
    rows = _rows(response.content)
    assert [(r["order_id"], r["line_number"]) for r in rows] == [
        (first["id"], "1"), (first["id"], "2"), (late["id"], "1"), (next_day["id"], "1"),
    ]  # fmt: skip
    assert rows[0] == {
        "order_id": first["id"], "order_number": first["number"],
        "created_at": "2026-11-01T10:00:00Z", "paid_at": "", "status": "pending_payment",
        "customer_id": str(user.id), "currency": "USD", "subtotal_cents": "3499",
        "discount_cents": "0", "tax_cents": "0", "shipping_cents": "0", "total_cents": "3499",
        "coupon_code": "", "line_number": "1", "product_id": mug["id"], "sku": "MUG",
        "name": 'Mug, "big"', "unit_price_cents": "1250", "quantity": "2",
        "line_total_cents": "2500",
    }  # fmt: skip
    assert rows[2]["created_at"] == "2026-11-02T23:59:59.999999Z"


async def test_paid_orders_carry_paid_at(client: AsyncClient, history: dict[str, Any]) -> None:
    late = history["orders"][1]
    paid = await client.post(
        f"/api/v1/orders/{late['id']}/pay", headers=history["user"].headers,
        json={"provider": "test", "token": "tok_visa"},
    )  # fmt: skip
    assert paid.status_code == 200, paid.text
    rows = _rows(await download(client, "orders.csv", history["staff"]))
    assert (rows[2]["status"], rows[2]["paid_at"]) == ("paid", paid.json()["paid_at"])


@pytest.mark.parametrize(
    ("query", "expected", "filename"),
    [
        ("from=2026-11-02&to=2026-11-02", [1], "orders_2026-11-02_2026-11-02.csv"),
        ("from=2026-11-02", [1, 2], "orders_2026-11-02_end.csv"),
        ("to=2026-11-01", [0, 0], "orders_start_2026-11-01.csv"),
        ("from=2026-11-04", [], "orders_2026-11-04_end.csv"),
        ("from=0001-01-01&to=9999-12-31", [0, 0, 1, 2], "orders_0001-01-01_9999-12-31.csv"),
    ],
)
async def test_dates_are_inclusive_utc_days(
    client: AsyncClient, history: dict[str, Any], query: str, expected: list[int], filename: str
) -> None:
    response = await client.get(f"{EXPORTS}/orders.csv?{query}", headers=history["staff"].headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    ids = [history["orders"][i]["id"] for i in expected]
    assert [r["order_id"] for r in _rows(response.content)] == ids


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-03&to=2026-11-02", "from"),
        ("from=2026-13-01", "from"),
        ("from=2026-02-30", "from"),
        ("from=1700000000", "from"),
        ("to=2026-11-02T00:00:00", "to"),
        ("to=", "to"),
    ],
)
async def test_bad_dates_are_422(
    client: AsyncClient, actors: Actors, query: str, field: str
) -> None:
    staff = await actors.staff()
    response = await client.get(f"{EXPORTS}/orders.csv?{query}", headers=staff.headers)
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_every_order_once_across_batches(
    client: AsyncClient, history: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _rows(await download(client, "orders.csv", history["staff"]))
    for size in (1, 2, 3):  # one order a batch; a partial last batch; exactly one full batch
        monkeypatch.setattr(service, "ORDER_BATCH_SIZE", size)
        assert _rows(await download(client, "orders.csv", history["staff"])) == expected
