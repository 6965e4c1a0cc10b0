from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.catalog.helpers import PRODUCTS, create_product
from tests.factories import Actors
from tests.test_http_conventions import assert_problem

ORDERS = "/api/v1/orders"
ADDRESS = {
    "name": "Ada",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


async def _stock(client: AsyncClient, headers: dict[str, str], product: dict[str, Any]) -> int:
    return int((await client.get(f"{PRODUCTS}/{product['id']}", headers=headers)).json()["stock"])


async def test_checkout_the_cart(client: AsyncClient, actors: Actors) -> None:
    staff, user = await actors.staff(), await actors.customer()
    mug = await create_product(client, staff, price_cents=1_250, stock=5)
    tee = await create_product(client, staff, price_cents=999, stock=5)
    await client.put(f"/api/v1/cart/items/{mug['id']}", headers=user.headers, json={"quantity": 2})
    await client.put(f"/api/v1/cart/items/{tee['id']}", headers=user.headers, json={"quantity": 1})
    response = await client.post(ORDERS, headers=user.headers, json={"shipping_address": ADDRESS})
    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["location"] == f"{ORDERS}/{order['id']}"
    assert order["status"] == "pending_payment"
    assert order["customer_id"] == str(user.id)
    assert [(i["sku"], i["quantity"], i["line_total_cents"]) for i in order["items"]] == [
        (mug["sku"], 2, 2_500), (tee["sku"], 1, 999),
    ]  # fmt: skip
    assert order["subtotal_cents"] == order["total_cents"] == 3_499
    assert order["shipping_address"]["country"] == "US"
    assert order["paid_at"] is None
    assert order["number"].startswith("BR-")
    assert (await _stock(client, staff.headers, mug), await _stock(client, staff.headers, tee)) == (
        3,
        4,
    )
    ledger = (
        await client.get(f"{PRODUCTS}/{mug['id']}/stock-movements", headers=staff.headers)
    ).json()
    assert (ledger["items"][0]["reason"], ledger["items"][0]["delta"]) == ("order", -2)
    assert (await client.get("/api/v1/cart", headers=user.headers)).json()["items"] == []
    # The snapshot holds when the product changes later.
    await client.patch(
        f"{PRODUCTS}/{mug['id']}", headers=staff.headers, json={"price_cents": 9, "name": "X"}
    )
    again = (await client.get(f"{ORDERS}/{order['id']}", headers=user.headers)).json()
    assert again["items"] == order["items"]


async def test_explicit_items_leave_the_cart_alone(client: AsyncClient, actors: Actors) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, price_cents=500, stock=3)
    await client.put(
        f"/api/v1/cart/items/{product['id']}", headers=user.headers, json={"quantity": 1}
    )
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 3}]}
    response = await client.post(ORDERS, headers=user.headers, json=body)
    assert response.status_code == 201, response.text
    assert len((await client.get("/api/v1/cart", headers=user.headers)).json()["items"]) == 1


async def test_short_stock_is_409_naming_every_short_product_and_takes_nothing(
    client: AsyncClient, actors: Actors
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    plenty = await create_product(client, staff, stock=10)
    few = await create_product(client, staff, stock=1)
    none = await create_product(client, staff, stock=0)
    items = [
        {"product_id": plenty["id"], "quantity": 2},
        {"product_id": few["id"], "quantity": 2},
        {"product_id": none["id"], "quantity": 1},
    ]
    response = await client.post(
        ORDERS, headers=user.headers, json={"shipping_address": ADDRESS, "items": items}
    )
    body = assert_problem(response, 409)
    assert set(body["product_ids"]) == {few["id"], none["id"]}
    assert await _stock(client, staff.headers, plenty) == 10  # all or nothing
    assert (await client.get(ORDERS, headers=user.headers)).json()["items"] == []


async def test_racing_customers_never_oversell(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=5)
    buyers = [await actors.customer() for _ in range(12)]
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}

    async def buy(headers: dict[str, str]) -> int:
        return (await client.post(ORDERS, headers=headers, json=body)).status_code

    statuses = await asyncio.gather(*(buy(b.headers) for b in buyers))
    assert statuses.count(201) == 5
    assert statuses.count(409) == 7
    assert await _stock(client, staff.headers, product) == 0


async def test_coupon_redemptions_never_pass_the_limit(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, price_cents=1_000, stock=100)
    await client.post(
        "/api/v1/coupons", headers=staff.headers,
        json={"code": "FIRST3", "amount_off_cents": 300, "max_redemptions": 3},
    )  # fmt: skip
    buyers = [await actors.customer() for _ in range(8)]
    body = {
        "shipping_address": ADDRESS, "coupon_code": "first3",
        "items": [{"product_id": product["id"], "quantity": 1}],
    }  # fmt: skip

    async def buy(headers: dict[str, str]) -> Any:
        return await client.post(ORDERS, headers=headers, json=body)

    responses = await asyncio.gather(*(buy(b.headers) for b in buyers))
    placed = [r.json() for r in responses if r.status_code == 201]
    assert len(placed) == 3
    assert all(o["discount_cents"] == 300 and o["total_cents"] == 700 for o in placed)
    assert all(r.status_code == 422 for r in responses if r.status_code != 201)
    coupons = (await client.get("/api/v1/coupons", headers=staff.headers)).json()["items"]
    assert coupons[0]["redemptions"] == 3
    assert await _stock(client, staff.headers, product) == 97


async def test_orders_are_private(client: AsyncClient, actors: Actors) -> None:
    staff, alice, bob = await actors.staff(), await actors.customer(), await actors.customer()
    product = await create_product(client, staff, stock=5)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    order = (await client.post(ORDERS, headers=alice.headers, json=body)).json()
    assert_problem(await client.get(f"{ORDERS}/{order['id']}", headers=bob.headers), 404)
    assert (await client.get(ORDERS, headers=bob.headers)).json()["items"] == []
    assert_problem(await client.get(f"{ORDERS}?customer_id={alice.id}", headers=bob.headers), 403)
    mine = (await client.get(ORDERS, headers=alice.headers)).json()["items"]
    assert [o["id"] for o in mine] == [order["id"]]
    seen_by_staff = await client.get(f"{ORDERS}?customer_id={alice.id}", headers=staff.headers)
    assert [o["id"] for o in seen_by_staff.json()["items"]] == [order["id"]]
    assert (await client.get(f"{ORDERS}/{order['id']}", headers=staff.headers)).status_code == 200
    assert_problem(await client.get(ORDERS), 401)


@pytest.mark.parametrize(
    "change",
    [
        {"items": []},
        {"items": [{"product_id": "x", "quantity": 0}]},
        {"items": [{"product_id": "x", "quantity": 1000}]},
        {"items": [{"product_id": "00000000-0000-0000-0000-000000000000", "quantity": 1}]},
        {"shipping_address": {**ADDRESS, "country": "usa"}},
        {"shipping_address": {**ADDRESS, "postal_code": ""}},
        {"shipping_address": {k: v for k, v in ADDRESS.items() if k != "city"}},
        {"coupon_code": "NOSUCH"},
        {"status": "paid"},
        {"total_cents": 1},
    ],
)
async def test_bad_orders_are_422(
    client: AsyncClient, actors: Actors, change: dict[str, Any]
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=5)
    body = {
        "shipping_address": ADDRESS,
        "items": [{"product_id": product["id"], "quantity": 1}],
        **change,
    }
    assert_problem(await client.post(ORDERS, headers=user.headers, json=body), 422)


async def test_empty_cart_checkout_is_422(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    assert_problem(
        await client.post(ORDERS, headers=user.headers, json={"shipping_address": ADDRESS}), 422
    )


async def test_too_many_lines_is_422(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    items = [{"product_id": f"00000000-0000-0000-0000-{i:012d}", "quantity": 1} for i in range(101)]
    response = await client.post(
        ORDERS, headers=user.headers, json={"shipping_address": ADDRESS, "items": items}
    )
    assert_problem(response, 422)


async def test_list_filters(client: AsyncClient, actors: Actors) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=5)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    order = (await client.post(ORDERS, headers=user.headers, json=body)).json()

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{ORDERS}?{query}", headers=user.headers)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["items"]]

    assert await ids("status=pending_payment") == [order["id"]]
    assert await ids("status=paid") == []
    assert await ids("created_from=2000-01-01T00:00:00Z") == [order["id"]]
    assert await ids("created_to=2000-01-01T00:00:00Z") == []
    for bad in (
        "created_from=0.0",
        "created_from=1700000000",
        "created_to=2026-01-01",
        "status=lost",
    ):
        assert_problem(await client.get(f"{ORDERS}?{bad}", headers=user.headers), 422)
    staff_view = await client.get(f"{ORDERS}?customer_id=not-an-id", headers=staff.headers)
    assert staff_view.json()["items"] == []


@pytest.mark.parametrize("quantity", [0, -1, 1000, 10**12, 1.5, "2", None, True])
async def test_bad_quantities_are_422_and_take_nothing(
    client: AsyncClient, actors: Actors, quantity: Any
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=5)
    body = {
        "shipping_address": ADDRESS,
        "items": [{"product_id": product["id"], "quantity": quantity}],
    }
    assert_problem(await client.post(ORDERS, headers=user.headers, json=body), 422)
    assert await _stock(client, staff.headers, product) == 5


async def test_unknown_inactive_and_deleted_products_are_not_for_sale(
    client: AsyncClient, actors: Actors
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    inactive = await create_product(client, staff, stock=5, is_active=False)
    deleted = await create_product(client, staff, stock=5)
    await client.delete(f"{PRODUCTS}/{deleted['id']}", headers=staff.headers)
    for product_id in (inactive["id"], deleted["id"], "00000000-0000-0000-0000-000000000001", "x"):
        body = {"shipping_address": ADDRESS, "items": [{"product_id": product_id, "quantity": 1}]}
        assert_problem(await client.post(ORDERS, headers=user.headers, json=body), 422)


async def test_a_cart_that_changes_between_two_checkouts(
    client: AsyncClient, actors: Actors
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, price_cents=1_000, stock=10)
    other = await create_product(client, staff, price_cents=500, stock=10)
    cart_item = f"/api/v1/cart/items/{product['id']}"
    await client.put(cart_item, headers=user.headers, json={"quantity": 2})
    # The price changes after the item went into the cart: checkout prices it now.
    await client.patch(f"{PRODUCTS}/{product['id']}", headers=staff.headers,
                       json={"price_cents": 1_200})  # fmt: skip
    first = await client.post(ORDERS, headers=user.headers, json={"shipping_address": ADDRESS})
    assert first.status_code == 201 and first.json()["subtotal_cents"] == 2_400
    # The cart was emptied: checking it out again is refused, nothing is taken twice.
    assert_problem(
        await client.post(ORDERS, headers=user.headers, json={"shipping_address": ADDRESS}), 422
    )
    await client.put(
        f"/api/v1/cart/items/{other['id']}", headers=user.headers, json={"quantity": 1}
    )
    # A product in the cart that stops being sold makes the checkout 422, not a partial order.
    await client.put(cart_item, headers=user.headers, json={"quantity": 1})
    await client.patch(f"{PRODUCTS}/{product['id']}", headers=staff.headers,
                       json={"is_active": False})  # fmt: skip
    assert_problem(
        await client.post(ORDERS, headers=user.headers, json={"shipping_address": ADDRESS}), 422
    )
    assert await _stock(client, staff.headers, product) == 8
    assert await _stock(client, staff.headers, other) == 10
