from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.catalog.helpers import PRODUCTS, create_product
from tests.factories import Actor, Actors
from tests.orders.test_place import ADDRESS, ORDERS
from tests.test_http_conventions import assert_problem


async def _order(
    client: AsyncClient, staff: Actor, buyer: Actor, stock: int = 5, qty: int = 2
) -> tuple[dict[str, Any], dict[str, Any]]:
    product = await create_product(client, staff, price_cents=1_000, stock=stock)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": qty}]}
    response = await client.post(ORDERS, headers=buyer.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json(), product


async def _stock(client: AsyncClient, staff: Actor, product: dict[str, Any]) -> int:
    return int(
        (await client.get(f"{PRODUCTS}/{product['id']}", headers=staff.headers)).json()["stock"]
    )


async def _pay(
    client: AsyncClient, buyer: Actor, order: dict[str, Any], token: str = "tok_visa"
) -> Any:
    return await client.post(
        f"{ORDERS}/{order['id']}/pay",
        headers=buyer.headers,
        json={"provider": "test", "token": token},
    )


async def test_the_happy_path_and_its_history(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    order, _ = await _order(client, staff, buyer)
    paid = await _pay(client, buyer, order)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["paid_at"] is not None
    shipped = await client.post(
        f"{ORDERS}/{order['id']}/ship", headers=staff.headers,
        json={"carrier": "DHL", "tracking_number": "JD0001"},
    )  # fmt: skip
    assert shipped.json()["status"] == "shipped"
    delivered = await client.post(f"{ORDERS}/{order['id']}/deliver", headers=staff.headers)
    assert delivered.json()["status"] == "delivered"
    refunded = await client.post(f"{ORDERS}/{order['id']}/refund", headers=staff.headers)
    assert refunded.json()["status"] == "refunded"
    history = (await client.get(f"{ORDERS}/{order['id']}/history", headers=staff.headers)).json()
    steps = [(e["from_status"], e["to_status"]) for e in history["items"]]
    assert steps == [
        (None, "pending_payment"), ("pending_payment", "paid"), ("paid", "shipped"),
        ("shipped", "delivered"), ("delivered", "refunded"),
    ]  # fmt: skip
    assert history["items"][2]["actor_id"] == str(staff.id)
    assert_problem(await client.get(f"{ORDERS}/{order['id']}/history", headers=buyer.headers), 403)


async def test_declined_payment_is_402_and_the_order_stays_payable(
    client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    order, _ = await _order(client, staff, buyer)
    declined = await _pay(client, buyer, order, "tok_chargeDeclined")
    assert_problem(declined, 402)
    assert (await client.get(f"{ORDERS}/{order['id']}", headers=buyer.headers)).json()[
        "status"
    ] == "pending_payment"
    assert (await _pay(client, buyer, order)).status_code == 200
    assert_problem(await _pay(client, buyer, order), 409)  # already paid
    assert_problem(await _pay(client, buyer, order, "tok_unknown"), 409)


async def test_only_the_owner_pays(client: AsyncClient, actors: Actors) -> None:
    staff, buyer, other = await actors.staff(), await actors.customer(), await actors.customer()
    order, _ = await _order(client, staff, buyer)
    assert_problem(await _pay(client, other, order), 404)
    bad = await client.post(
        f"{ORDERS}/{order['id']}/pay",
        headers=buyer.headers,
        json={"provider": "test", "token": "tok_x"},
    )
    assert_problem(bad, 422)
    assert_problem(
        await client.post(
            f"{ORDERS}/{order['id']}/pay",
            headers=buyer.headers,
            json={"provider": "acme", "token": "t"},
        ),
        422,
    )


async def test_cancel_returns_stock_and_refunds(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    order, product = await _order(client, staff, buyer, stock=5, qty=2)
    assert await _stock(client, staff, product) == 3
    await _pay(client, buyer, order)
    cancelled = await client.post(f"{ORDERS}/{order['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await _stock(client, staff, product) == 5
    ledger = (
        await client.get(f"{PRODUCTS}/{product['id']}/stock-movements", headers=staff.headers)
    ).json()
    assert (ledger["items"][0]["reason"], ledger["items"][0]["delta"]) == ("cancellation", 2)
    assert_problem(await client.post(f"{ORDERS}/{order['id']}/cancel", headers=buyer.headers), 409)


async def test_who_may_do_what(client: AsyncClient, actors: Actors) -> None:
    staff, buyer, other = await actors.staff(), await actors.customer(), await actors.customer()
    order, _ = await _order(client, staff, buyer)
    url = f"{ORDERS}/{order['id']}"
    for action in ("ship", "deliver", "refund"):
        assert_problem(await client.post(f"{url}/{action}", headers=buyer.headers), 403)
    assert_problem(await client.post(f"{url}/cancel", headers=other.headers), 404)
    await _pay(client, buyer, order)
    await client.post(f"{url}/ship", headers=staff.headers)
    # Shipped: the customer can no longer cancel; staff can't either (refund instead).
    assert_problem(await client.post(f"{url}/cancel", headers=buyer.headers), 409)
    assert_problem(await client.post(f"{url}/cancel", headers=staff.headers), 409)


@pytest.mark.parametrize(
    ("steps", "then"),
    [
        ([], "ship"), ([], "deliver"), ([], "refund"),
        (["pay"], "deliver"), (["pay"], "refund"),
        (["pay", "ship"], "ship"), (["cancel"], "pay"), (["cancel"], "ship"),
    ],
)  # fmt: skip
async def test_transitions_not_allowed_are_409(
    client: AsyncClient, actors: Actors, steps: list[str], then: str
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    order, _ = await _order(client, staff, buyer)
    url = f"{ORDERS}/{order['id']}"

    async def do(step: str) -> Any:
        if step == "pay":
            return await _pay(client, buyer, order)
        who = buyer if step == "cancel" else staff
        return await client.post(f"{url}/{step}", headers=who.headers)

    for step in steps:
        assert (await do(step)).status_code == 200
    assert_problem(await do(then), 409)


async def test_racing_cancel_and_ship_one_wins(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    order, product = await _order(client, staff, buyer, stock=5, qty=2)
    await _pay(client, buyer, order)
    url = f"{ORDERS}/{order['id']}"
    cancel, ship = await asyncio.gather(
        client.post(f"{url}/cancel", headers=buyer.headers),
        client.post(f"{url}/ship", headers=staff.headers),
    )
    assert sorted([cancel.status_code, ship.status_code]) == [200, 409]
    final = (await client.get(url, headers=staff.headers)).json()["status"]
    expected_stock = 5 if final == "cancelled" else 3
    assert await _stock(client, staff, product) == expected_stock
