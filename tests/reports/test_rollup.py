"""The sales rollup: kept by the order transitions over HTTP, changed once under racing
transitions, rebuilt to the same numbers (also while payments race the rebuild), and
`backroom reports rebuild` from the command line."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from backroom.cli import app as cli
from backroom.reports import rollup
from backroom.reports.models import (
    CustomerSalesMonth,
    CustomerSalesQuarter,
    ProductSalesDay,
    ProductSalesMonth,
    ProductSalesQuarter,
    SalesDay,
)
from backroom.reports.periods import Window, split
from tests.catalog.helpers import create_product
from tests.factories import Actor, Actors
from tests.orders.test_place import ADDRESS, ORDERS
from tests.reports.helpers import REPORTS

ROLLUP = (SalesDay, ProductSalesDay, ProductSalesMonth, ProductSalesQuarter, CustomerSalesMonth,
          CustomerSalesQuarter)  # fmt: skip


async def _place(client: AsyncClient, buyer: Actor, product: dict[str, Any], qty: int) -> str:
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": qty}]}
    response = await client.post(ORDERS, headers=buyer.headers, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _pay(client: AsyncClient, buyer: Actor, order_id: str) -> int:
    response = await client.post(f"{ORDERS}/{order_id}/pay", headers=buyer.headers,
                                 json={"provider": "test", "token": "tok_visa"})  # fmt: skip
    return response.status_code


async def _reports(client: AsyncClient, staff: Actor) -> dict[str, Any]:
    """Today's numbers, every report that reads the rollup (the default window ends today)."""
    got = {}
    for name in ("sales", "top-products", "customers"):
        response = await client.get(f"{REPORTS}/{name}", headers=staff.headers)
        assert response.status_code == 200, response.text
        got[name] = response.json()
    return got


async def _rollup_rows(app: FastAPI) -> dict[str, list[Any]]:
    async with app.state.ctx.engine.connect() as conn:
        return {
            table.__tablename__: sorted(tuple(row) for row in await conn.execute(select(table)))
            for table in ROLLUP
        }


async def test_pay_cancel_and_refund_move_the_numbers(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, price_cents=1_000, stock=10)
    first, second = [await _place(client, buyer, product, qty) for qty in (2, 3)]
    assert (await _reports(client, staff))["sales"]["totals"]["orders"] == 0  # unpaid
    assert await _pay(client, buyer, first) == 200
    assert await _pay(client, buyer, second) == 200
    now = await _reports(client, staff)
    totals = now["sales"]["totals"]
    assert (totals["orders"], totals["units"], totals["gross_cents"]) == (2, 5, 5_000)
    assert [(r["units"], r["revenue_cents"]) for r in now["top-products"]["rows"]] == [(5, 5_000)]
    assert [(r["orders"], r["net_cents"]) for r in now["customers"]["rows"]] == [(2, 5_000)]

    cancelled = await client.post(f"{ORDERS}/{first}/cancel", headers=staff.headers)
    assert cancelled.status_code == 200, cancelled.text
    after_cancel = await _reports(client, staff)
    assert after_cancel["sales"]["totals"]["units"] == 3
    assert after_cancel["customers"]["rows"][0]["orders"] == 1

    for step, body in (("ship", {"carrier": "DHL", "tracking_number": "T1"}), ("refund", None)):
        moved = await client.post(f"{ORDERS}/{second}/{step}", headers=staff.headers, json=body)
        assert moved.status_code == 200, moved.text
    gone = await _reports(client, staff)
    assert gone["sales"]["totals"]["orders"] == 0 and gone["sales"]["totals"]["gross_cents"] == 0
    assert gone["top-products"]["rows"] == [] and gone["customers"]["rows"] == []


async def test_racing_transitions_change_the_rollup_once(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, price_cents=700, stock=10)
    order = await _place(client, buyer, product, 2)
    payments = await asyncio.gather(*(_pay(client, buyer, order) for _ in range(8)))
    assert sorted(payments) == [200] + [409] * 7
    assert (await _reports(client, staff))["sales"]["totals"]["orders"] == 1
    shipped = await client.post(f"{ORDERS}/{order}/ship", headers=staff.headers,
                                json={"carrier": "DHL", "tracking_number": "T2"})  # fmt: skip
    assert shipped.status_code == 200
    refunds = await asyncio.gather(
        *(client.post(f"{ORDERS}/{order}/refund", headers=staff.headers) for _ in range(8))
    )
    assert sorted(r.status_code for r in refunds) == [200] + [409] * 7
    rows = await _rollup_rows(app)
    # taken away exactly once: the day's shard rows sum to zero, not below
    measures = [row[2:] for row in rows["sales_day"]]
    assert [sum(column) for column in zip(*measures, strict=True)] == [0] * 5
    async with app.state.ctx.engine.begin() as conn:
        await rollup.rebuild(conn)
    assert all(not rows for rows in (await _rollup_rows(app)).values())


async def test_payments_racing_a_rebuild_are_all_counted(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    buyers = [await actors.customer() for _ in range(4)]
    product = await create_product(client, staff, price_cents=300, stock=100)
    orders = [(b, await _place(client, b, product, 1)) for b in buyers for _ in range(5)]

    async def rebuilds() -> None:
        for _ in range(3):
            await rollup.rebuild_all(app.state.ctx.engine)
            await asyncio.sleep(0)

    paid, _ = await asyncio.gather(
        asyncio.gather(*(_pay(client, buyer, order) for buyer, order in orders)), rebuilds()
    )
    assert paid == [200] * len(orders)
    kept = await _reports(client, staff)
    assert kept["sales"]["totals"]["orders"] == len(orders)
    await rollup.rebuild_all(app.state.ctx.engine)
    assert await _reports(client, staff) == kept


@pytest.fixture
def env(prepared: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BACKROOM_DATABASE_URL", prepared["database_url"])
    monkeypatch.delenv("BACKROOM_SECRET_KEY", raising=False)


async def test_reports_rebuild_restores_a_lost_rollup(
    env: None, app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    runner = CliRunner()
    seeded = await asyncio.to_thread(
        runner.invoke, cli, ["seed", "--products", "40", "--customers", "15", "--orders", "300"]
    )
    assert seeded.exit_code == 0, seeded.output
    staff = await actors.staff()
    year = f"from={date.today() - timedelta(days=400)}&to={date.today()}"
    paths = [f"sales?{year}&granularity=month", f"top-products?{year}&limit=100",
             f"customers?{year}&limit=100"]  # fmt: skip

    async def numbers() -> list[Any]:
        return [(await client.get(f"{REPORTS}/{p}", headers=staff.headers)).json() for p in paths]

    before = await numbers()
    assert before[0]["totals"]["orders"] > 0
    async with app.state.ctx.engine.begin() as conn:
        for table in ROLLUP:
            await conn.execute(delete(table))
        assert (await conn.scalar(select(func.count()).select_from(SalesDay))) == 0
    assert (await numbers())[0]["totals"]["orders"] == 0  # lost
    rebuilt = await asyncio.to_thread(runner.invoke, cli, ["reports", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "product_sales_day" in rebuilt.output
    assert await numbers() == before


@given(first=st.dates(date(2000, 1, 1), date(2040, 1, 1)), length=st.integers(0, 1200))
def test_a_window_splits_into_quarters_months_and_edges_covering_each_day_once(
    first: date, length: int
) -> None:
    within = Window(first, first + timedelta(days=length))
    parts = split(within)
    days: list[date] = []
    for low, high in parts.edges:
        days += _days(low, high + timedelta(days=1))
    for low, high in parts.months:
        assert low.day == 1 and high.day == 1
        days += _days(low, _next_month(high))
    if parts.quarters:
        low, high = parts.quarters
        assert low.day == 1 and low.month % 3 == 1 and high.month % 3 == 1
        days += _days(low, _next_month(_next_month(_next_month(high))))
    assert sorted(days) == _days(within.first, within.last + timedelta(days=1))


def test_windows_at_the_ends_of_the_calendar_split() -> None:
    assert split(Window(date.min, date.min)).edges == ((date.min, date.min),)
    assert split(Window(date(9999, 12, 1), date.max)).months == ((date(9999, 12, 1),) * 2,)
    assert split(Window(date.min, date(1, 3, 31))).quarters == (date.min, date.min)
    year = split(Window(date(2025, 11, 27), date(2026, 11, 26)))
    assert year.quarters == (date(2026, 1, 1), date(2026, 7, 1))
    assert year.months == ((date(2025, 12, 1), date(2025, 12, 1)),
                           (date(2026, 10, 1), date(2026, 10, 1)))  # fmt: skip
    assert year.edges == ((date(2025, 11, 27), date(2025, 11, 30)),
                          (date(2026, 11, 1), date(2026, 11, 26)))  # fmt: skip


def _days(start: date, stop: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((stop - start).days)]


def _next_month(start: date) -> date:
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)
