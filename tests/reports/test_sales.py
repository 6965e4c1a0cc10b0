from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import Actor, Actors
from tests.reports.helpers import REPORTS, Line, PlacedOrder, add_customer, add_orders, add_product


def _at(day: str, hour: int = 12) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC) + timedelta(
        hours=hour
    )


@pytest.fixture
async def staff(actors: Actors) -> Actor:
    return await actors.staff()


@pytest.fixture
async def shop(app: FastAPI) -> dict[str, Any]:
    engine = app.state.ctx.engine
    customer = await add_customer(engine)
    product = await add_product(engine, price_cents=500)
    return {"engine": engine, "customer": customer["id"], "product": product}


async def _place(shop: dict[str, Any], status: str, paid: datetime | None, qty: int = 1,
                 discount: int = 0, tax: int = 0) -> None:  # fmt: skip
    p = shop["product"]
    line = Line(p["id"], p["sku"], p["name"], p["price_cents"], qty)
    order = PlacedOrder(shop["customer"], status, paid, [line], discount, tax)
    await add_orders(shop["engine"], [order])


async def _sales(client: AsyncClient, staff: Actor, query: str) -> dict[str, Any]:
    response = await client.get(f"{REPORTS}/sales?{query}", headers=staff.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_days_are_zero_filled_and_only_paid_orders_count(
    client: AsyncClient, staff: Actor, shop: dict[str, Any]
) -> None:
    await _place(shop, "paid", _at("2026-03-01", 0), qty=2, discount=100, tax=80)
    await _place(shop, "delivered", _at("2026-03-03", 23), qty=1)
    await _place(shop, "shipped", datetime(2026, 3, 3, 23, 59, 59, 999999, tzinfo=UTC))
    for status in ("refunded", "cancelled"):
        await _place(shop, status, _at("2026-03-02"), qty=5)  # paid, then undone
    await _place(shop, "pending_payment", None, qty=9)
    await _place(shop, "paid", _at("2026-03-04", 0))  # the day after `to`
    body = await _sales(client, staff, "from=2026-03-01&to=2026-03-03")
    assert body["currency"] == "USD" and body["granularity"] == "day"
    assert [r["period_start"] for r in body["rows"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    first, empty, third = body["rows"]
    assert first == {"period_start": "2026-03-01", "orders": 1, "units": 2, "gross_cents": 1000,
                     "discount_cents": 100, "tax_cents": 80, "net_cents": 900}  # fmt: skip
    assert empty == {"period_start": "2026-03-02", "orders": 0, "units": 0, "gross_cents": 0,
                     "discount_cents": 0, "tax_cents": 0, "net_cents": 0}  # fmt: skip
    assert (third["orders"], third["units"], third["gross_cents"]) == (2, 2, 1000)
    assert body["totals"] == {
        "orders": 3, "units": 4, "gross_cents": 2000, "discount_cents": 100, "tax_cents": 80,
        "net_cents": 1900,
    }  # fmt: skip


async def test_iso_weeks_start_monday_across_a_year_boundary(
    client: AsyncClient, staff: Actor, shop: dict[str, Any]
) -> None:
    # 2026-12-28 is a Monday; its ISO week runs to Sunday 2027-01-03.
    await _place(shop, "paid", _at("2026-12-27"))  # Sunday: the week before
    await _place(shop, "paid", _at("2026-12-28", 0))
    await _place(shop, "paid", _at("2027-01-03", 23))
    await _place(shop, "paid", _at("2027-01-04", 0))  # Monday: the next week
    body = await _sales(client, staff, "from=2026-12-24&to=2027-01-12&granularity=week")
    rows = [(r["period_start"], r["orders"]) for r in body["rows"]]
    assert rows == [("2026-12-21", 1), ("2026-12-28", 2), ("2027-01-04", 1), ("2027-01-11", 0)]


async def test_first_week_counts_only_orders_from_the_from_day(
    client: AsyncClient, staff: Actor, shop: dict[str, Any]
) -> None:
    await _place(shop, "paid", _at("2026-12-28"))  # Monday, before `from`
    await _place(shop, "paid", _at("2026-12-30"))  # Wednesday, `from`
    body = await _sales(client, staff, "from=2026-12-30&to=2026-12-30&granularity=week")
    assert [(r["period_start"], r["orders"]) for r in body["rows"]] == [("2026-12-28", 1)]


async def test_calendar_months(client: AsyncClient, staff: Actor, shop: dict[str, Any]) -> None:
    await _place(shop, "paid", _at("2026-01-31", 23))
    await _place(shop, "paid", _at("2026-02-01", 0))
    await _place(shop, "paid", _at("2026-02-28", 23))
    await _place(shop, "shipped", _at("2026-04-15"))
    body = await _sales(client, staff, "from=2026-01-15&to=2026-04-15&granularity=month")
    rows = [(r["period_start"], r["orders"]) for r in body["rows"]]
    assert rows == [("2026-01-01", 1), ("2026-02-01", 2), ("2026-03-01", 0), ("2026-04-01", 1)]


async def test_december_rolls_into_january(client: AsyncClient, staff: Actor) -> None:
    body = await _sales(client, staff, "from=2026-12-05&to=2027-01-05&granularity=month")
    assert [r["period_start"] for r in body["rows"]] == ["2026-12-01", "2027-01-01"]


async def test_defaults_are_the_last_30_days(client: AsyncClient, staff: Actor) -> None:
    body = await _sales(client, staff, "")
    today = datetime.now(UTC).date()
    assert len(body["rows"]) == 30
    assert body["rows"][-1]["period_start"] == today.isoformat()
    assert body["rows"][0]["period_start"] == (today - timedelta(days=29)).isoformat()


async def test_csv_holds_the_rows_without_totals(
    client: AsyncClient, staff: Actor, shop: dict[str, Any]
) -> None:
    await _place(shop, "paid", _at("2026-03-02"), qty=3, discount=50, tax=10)
    response = await client.get(
        f"{REPORTS}/sales?from=2026-03-01&to=2026-03-02",
        headers={**staff.headers, "Accept": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.text
    assert text.startswith(
        "period_start,orders,units,gross_cents,discount_cents,tax_cents,net_cents\r\n"
    )
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [["2026-03-01", "0", "0", "0", "0", "0", "0"],
                        ["2026-03-02", "1", "3", "1500", "50", "10", "1450"]]  # fmt: skip
