"""Property-based: random orders across statuses, days, discounts and refunds, moved to
their status by the order state machine (which keeps the rollup); every report must
equal a computation in plain Python from the same orders, and stay the same after
the rollup is rebuilt from the orders. Refunded orders, and orders cancelled after
payment, keep their ``paid_at`` but must count as if they had never been paid."""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backroom.config import Settings
from backroom.main import create_app
from backroom.reports import rollup
from tests.backends import Backend
from tests.factories import Actors
from tests.reports.helpers import REPORTS, Line, PlacedOrder, add_customer, add_orders, add_product

BASE = date(2026, 12, 1)  # the days span a year boundary
SPAN = 200  # long enough for windows holding whole quarters, months and edge days
COUNTED = {"paid", "shipped", "delivered"}
STATUSES = ["pending_payment", "paid", "shipped", "delivered", "cancelled", "refunded"]

products = st.lists(
    st.tuples(st.integers(0, 5_000), st.integers(0, 8), st.booleans(), st.booleans()),
    min_size=1, max_size=4,
)  # (price, stock, renamed since sold, deleted)  # fmt: skip
orders = st.lists(
    st.fixed_dictionaries({
        "customer": st.integers(0, 2), "status": st.sampled_from(STATUSES),
        "was_paid": st.booleans(), "day": st.integers(0, SPAN),
        "second": st.integers(0, 86_399), "discount": st.integers(0, 300),
        "tax": st.integers(0, 200),
        "lines": st.lists(
            st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=3,
            unique_by=lambda line: line[0],
        ),
    }),
    max_size=25,
)  # fmt: skip
queries = st.fixed_dictionaries({
    "first": st.integers(0, SPAN), "length": st.integers(0, SPAN), "limit": st.integers(1, 5),
    "threshold": st.integers(0, 8),
})  # fmt: skip


def _start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.isocalendar().weekday - 1)
    return day.replace(day=1) if granularity == "month" else day


async def _seed(engine: Any, product_specs: list[Any], order_specs: list[Any]) -> dict[str, Any]:
    made = []
    for i, (price, stock, renamed, deleted) in enumerate(product_specs):
        row = await add_product(engine, sku=f"S-{i}", name=f"Now {i}" if renamed else f"Was {i}",
                                price_cents=price, stock=stock,
                                deleted_at=datetime.now(UTC) if deleted else None)  # fmt: skip
        made.append(row)
    people = [await add_customer(engine) for _ in range(3)]
    placed = []
    for spec in order_specs:
        lines = []
        for which, quantity in spec["lines"]:
            product = made[which % len(made)]
            lines.append(Line(product["id"], product["sku"], f"Was {which % len(made)}",
                              product["price_cents"], quantity))  # fmt: skip
        paid = spec["status"] in COUNTED | {"refunded"} or (
            spec["status"] == "cancelled" and spec["was_paid"]
        )
        at = datetime.combine(BASE + timedelta(days=spec["day"]), datetime.min.time(), UTC)
        paid_at = at + timedelta(seconds=spec["second"]) if paid else None
        placed.append(PlacedOrder(people[spec["customer"]]["id"], spec["status"], paid_at, lines,
                                  min(spec["discount"], sum(x.total for x in lines)),
                                  spec["tax"], via_delivered=spec["was_paid"]))  # fmt: skip
    await add_orders(engine, placed)  # through the state machine: the rollup keeps up
    for order in placed:  # a cancelled order's goods went back on the shelf
        for line in order.lines if order.status == "cancelled" else ():
            stock = next(p for p in made if p["id"] == line.product_id)
            stock["stock"] += line.quantity
    return {"products": made, "people": people, "orders": placed}


def _expected_sales(counted: list[PlacedOrder], first: date, last: date, gran: str) -> list[Any]:
    periods: dict[date, list[int]] = {}
    day = first
    while day <= last:
        periods.setdefault(_start(day, gran), [0, 0, 0, 0, 0])
        day += timedelta(days=1)
    for order in counted:
        assert order.paid_at is not None
        sums = periods[_start(order.paid_at.date(), gran)]
        for i, value in enumerate((1, sum(x.quantity for x in order.lines), order.subtotal,
                                   order.discount_cents, order.tax_cents)):  # fmt: skip
            sums[i] += value
    return [
        {"period_start": start.isoformat(), "orders": o, "units": u, "gross_cents": g,
         "discount_cents": d, "tax_cents": t, "net_cents": g - d}
        for start, (o, u, g, d, t) in periods.items()
    ]  # fmt: skip


def _expected_products(counted: list[PlacedOrder], data: dict[str, Any], limit: int, by: str
                       ) -> list[Any]:  # fmt: skip
    sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    names: dict[Any, tuple[str, str]] = {}
    for line in (line for order in counted for line in order.lines):
        sums[line.product_id][0] += line.quantity
        sums[line.product_id][1] += line.total
        names[line.product_id] = (line.sku, line.name)
    for product in data["products"]:  # the current name, also once deleted
        names[product["id"]] = (product["sku"], product["name"])
    rank = (lambda p: (-sums[p][0], -sums[p][1], str(p))) if by == "units" else (
        lambda p: (-sums[p][1], -sums[p][0], str(p)))  # fmt: skip
    return [
        {"product_id": str(p), "sku": names[p][0], "name": names[p][1], "units": sums[p][0],
         "revenue_cents": sums[p][1]}
        for p in sorted(sums, key=rank)[:limit]
    ]  # fmt: skip


def _expected_customers(counted: list[PlacedOrder], data: dict[str, Any], limit: int
                        ) -> list[Any]:  # fmt: skip
    sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for order in counted:
        sums[order.customer_id][0] += 1
        sums[order.customer_id][1] += order.subtotal - order.discount_cents
    people = {p["id"]: p for p in data["people"]}
    ranked = sorted(sums, key=lambda c: (-sums[c][1], -sums[c][0], str(c)))[:limit]
    return [
        {"customer_id": str(c), "email": people[c]["email"], "full_name": people[c]["full_name"],
         "orders": sums[c][0], "net_cents": sums[c][1]}
        for c in ranked
    ]  # fmt: skip


def _expected_inventory(data: dict[str, Any], threshold: int) -> dict[str, Any]:
    live = [p for p in data["products"] if p["deleted_at"] is None]
    low = sorted((p for p in live if p["stock"] <= threshold), key=lambda p: (p["stock"], p["sku"]))
    return {
        "total_skus": len(live), "total_units": sum(p["stock"] for p in live),
        "stock_value_cents": sum(p["stock"] * p["price_cents"] for p in live),
        "out_of_stock_count": sum(1 for p in live if p["stock"] == 0),
        "low_stock": [{"product_id": str(p["id"]), "sku": p["sku"], "name": p["name"],
                       "stock": p["stock"]} for p in low],
    }  # fmt: skip


async def _check(http: AsyncClient, headers: dict[str, str], data: dict[str, Any],
                 q: dict[str, int]) -> None:  # fmt: skip
    first = BASE + timedelta(days=q["first"])
    last = first + timedelta(days=q["length"])
    counted = [o for o in data["orders"] if o.status in COUNTED and o.paid_at is not None
               and first <= o.paid_at.date() <= last]  # fmt: skip
    window = f"from={first}&to={last}"

    async def get(path: str) -> Any:
        response = await http.get(f"{REPORTS}/{path}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    for gran in ("day", "week", "month"):
        body = await get(f"sales?{window}&granularity={gran}")
        rows = _expected_sales(counted, first, last, gran)
        assert body["rows"] == rows, gran
        assert body["totals"] == {k: sum(r[k] for r in rows) for k in body["totals"]}
    for by in ("revenue", "units"):
        body = await get(f"top-products?{window}&by={by}&limit={q['limit']}")
        assert body["rows"] == _expected_products(counted, data, q["limit"], by), by
    body = await get(f"customers?{window}&limit={q['limit']}")
    assert body["rows"] == _expected_customers(counted, data, q["limit"])
    body = await get(f"inventory?low_stock_threshold={q['threshold']}")
    assert body == _expected_inventory(data, q["threshold"])


async def _everything(http: AsyncClient, headers: dict[str, str]) -> list[Any]:
    window = f"from={BASE}&to={BASE + timedelta(days=SPAN)}"
    paths = [f"sales?{window}&granularity={g}" for g in ("day", "week", "month")]
    paths += [f"top-products?{window}&by={by}&limit=100" for by in ("revenue", "units")]
    paths.append(f"customers?{window}&limit=100")
    return [(await http.get(f"{REPORTS}/{path}", headers=headers)).json() for path in paths]


async def _scenario(backend: Backend, workdir: Path, product_specs: list[Any],
                    order_specs: list[Any], q: dict[str, int]) -> None:  # fmt: skip
    overrides = await backend.fresh(workdir)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=workdir / "data", secret_key=secrets.token_urlsafe(48), log_level="WARNING",
        access_log=False, rate_limit="off", **overrides,
    )  # fmt: skip
    app = create_app(settings)
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):
        staff = (await Actors(app, http).staff()).headers
        data = await _seed(app.state.ctx.engine, product_specs, order_specs)
        await _check(http, staff, data, q)
        before = await _everything(http, staff)
        async with app.state.ctx.engine.begin() as conn:
            await rollup.rebuild(conn)
        assert await _everything(http, staff) == before  # `reports rebuild` changes nothing


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(product_specs=products, order_specs=orders, q=queries)
def test_reports_match_a_python_computation(
    backend: Backend, tmp_path_factory: Any, product_specs: list[Any], order_specs: list[Any],
    q: dict[str, int],
) -> None:  # fmt: skip
    workdir = tmp_path_factory.mktemp("reports-prop")
    asyncio.run(_scenario(backend, workdir, product_specs, order_specs, q))
