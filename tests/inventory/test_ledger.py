from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.catalog.helpers import PRODUCTS, create_product, next_url, product_payload
from tests.factories import Actor, Actors
from tests.test_http_conventions import assert_problem


def _movements(product: dict[str, Any]) -> str:
    return f"{PRODUCTS}/{product['id']}/stock-movements"


async def _ledger(
    client: AsyncClient, staff: Actor, product: dict[str, Any]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url: str | None = f"{_movements(product)}?limit=7"
    while url:
        response = await client.get(url, headers=staff.headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        url = next_url(response)
    return items


async def _stock(client: AsyncClient, staff: Actor, product: dict[str, Any]) -> int:
    response = await client.get(f"{PRODUCTS}/{product['id']}", headers=staff.headers)
    return int(response.json()["stock"])


async def test_movements_change_stock_and_are_listed(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=10)
    response = await client.post(
        _movements(product), headers=staff.headers,
        json={"delta": -3, "reason": "damage", "note": "dropped a box"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    movement = response.json()
    assert set(movement) == {
        "id",
        "product_id",
        "delta",
        "reason",
        "note",
        "stock_after",
        "created_at",
    }
    assert (movement["delta"], movement["stock_after"], movement["reason"]) == (-3, 7, "damage")
    location = response.headers["location"]
    assert (await client.get(location, headers=staff.headers)).json() == movement
    ledger = await _ledger(client, staff, product)
    assert [m["reason"] for m in ledger] == ["damage", "restock"]  # newest first
    assert await _stock(client, staff, product) == 7 == sum(m["delta"] for m in ledger)


@pytest.mark.parametrize(
    "body",
    [
        {"delta": 0, "reason": "restock"},
        {"delta": 1.5, "reason": "restock"},
        {"delta": "1", "reason": "restock"},
        {"delta": 1, "reason": "order"},  # system reasons are not for clients
        {"delta": 1, "reason": "import"},
        {"delta": 1},
        {"delta": 1, "reason": "restock", "stock_after": 99},
        {"delta": 1, "reason": "restock", "note": "n" * 501},
    ],
)
async def test_bad_movements_are_422(
    client: AsyncClient, actors: Actors, body: dict[str, Any]
) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff)
    assert_problem(await client.post(_movements(product), headers=staff.headers, json=body), 422)


async def test_stock_never_goes_below_zero(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=2)
    response = await client.post(
        _movements(product), headers=staff.headers, json={"delta": -3, "reason": "correction"}
    )
    assert_problem(response, 409)
    assert await _stock(client, staff, product) == 2


async def test_only_staff_see_or_move_stock(client: AsyncClient, actors: Actors) -> None:
    staff, customer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff)
    body = {"delta": 5, "reason": "restock"}
    assert_problem(await client.post(_movements(product), headers=customer.headers, json=body), 403)
    assert_problem(await client.get(_movements(product), headers=customer.headers), 403)
    assert_problem(await client.get(_movements(product)), 401)
    missing = f"{PRODUCTS}/01a21600-0000-7000-8000-000000000000/stock-movements"
    assert_problem(await client.post(missing, headers=staff.headers, json=body), 404)


async def test_concurrent_decrements_never_oversell(client: AsyncClient, actors: Actors) -> None:
    """50 racing -1 movements against stock 20: exactly 20 succeed, stock ends at 0."""
    staff = await actors.staff()
    product = await create_product(client, staff, stock=20)

    async def take_one() -> int:
        response = await client.post(
            _movements(product), headers=staff.headers, json={"delta": -1, "reason": "correction"}
        )
        return response.status_code

    statuses = await asyncio.gather(*(take_one() for _ in range(50)))
    assert statuses.count(201) == 20
    assert statuses.count(409) == 30
    assert await _stock(client, staff, product) == 0
    ledger = await _ledger(client, staff, product)
    assert sum(m["delta"] for m in ledger) == 0
    assert sorted(m["stock_after"] for m in ledger if m["delta"] < 0) == list(range(20))


async def test_concurrent_creates_of_one_sku_yield_one_product(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    payload = product_payload(sku="RACE-1")

    async def create(i: int) -> int:
        body = {**payload, "name": f"Racer {i}"}
        return (await client.post(PRODUCTS, headers=staff.headers, json=body)).status_code

    statuses = await asyncio.gather(*(create(i) for i in range(20)))
    assert statuses.count(201) == 1
    assert statuses.count(409) == 19
    listed = (await client.get(f"{PRODUCTS}?q=RACE&limit=100")).json()["items"]
    assert [p["sku"] for p in listed] == ["RACE-1"]
