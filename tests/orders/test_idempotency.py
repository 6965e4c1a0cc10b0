from __future__ import annotations

import asyncio

from httpx import AsyncClient

from tests.catalog.helpers import create_product
from tests.factories import Actors
from tests.orders.test_place import ADDRESS, ORDERS
from tests.test_http_conventions import assert_problem


async def test_same_key_same_body_replays_without_a_second_order(
    client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=5)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    headers = {**buyer.headers, "Idempotency-Key": "order-1"}
    first = await client.post(ORDERS, headers=headers, json=body)
    again = await client.post(ORDERS, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["location"] == first.headers["location"]
    listed = (await client.get(ORDERS, headers=buyer.headers)).json()["items"]
    assert len(listed) == 1
    stock = (await client.get(f"/api/v1/products/{product['id']}", headers=staff.headers)).json()[
        "stock"
    ]
    assert stock == 4
    # Another body under the same key is refused; keys are per user.
    other = {**body, "items": [{"product_id": product["id"], "quantity": 2}]}
    assert_problem(await client.post(ORDERS, headers=headers, json=other), 422)
    someone = await actors.customer()
    mine = await client.post(
        ORDERS, headers={**someone.headers, "Idempotency-Key": "order-1"}, json=body
    )
    assert mine.status_code == 201
    assert mine.json()["id"] != first.json()["id"]


async def test_racing_requests_with_one_key_make_one_order(
    client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=50)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    headers = {**buyer.headers, "Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(client.post(ORDERS, headers=headers, json=body) for _ in range(6))
    )
    assert {r.status_code for r in responses} <= {201, 409}
    assert any(r.status_code == 201 for r in responses)
    orders = (await client.get(ORDERS, headers=buyer.headers)).json()["items"]
    assert len(orders) == 1


async def test_pay_is_idempotent_and_errors_replay_too(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=5)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    order = (await client.post(ORDERS, headers=buyer.headers, json=body)).json()
    url = f"{ORDERS}/{order['id']}/pay"
    declined = {**buyer.headers, "Idempotency-Key": "pay-1"}
    first = await client.post(
        url, headers=declined, json={"provider": "test", "token": "tok_chargeDeclined"}
    )
    assert_problem(first, 402)
    replay = await client.post(
        url, headers=declined, json={"provider": "test", "token": "tok_chargeDeclined"}
    )
    assert replay.status_code == 402
    assert replay.headers["idempotent-replayed"] == "true"
    ok = {**buyer.headers, "Idempotency-Key": "pay-2"}
    paid = await client.post(url, headers=ok, json={"provider": "test", "token": "tok_visa"})
    assert paid.status_code == 200
    again = await client.post(url, headers=ok, json={"provider": "test", "token": "tok_visa"})
    assert again.status_code == 200
    assert again.json() == paid.json()


async def test_overlong_keys_are_422(client: AsyncClient, actors: Actors) -> None:
    buyer = await actors.customer()
    headers = {**buyer.headers, "Idempotency-Key": "k" * 256}
    assert_problem(
        await client.post(ORDERS, headers=headers, json={"shipping_address": ADDRESS}), 422
    )
