"""``me { orders }``: the caller's own orders, the same as REST's, and nobody else's."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.catalog.helpers import create_product
from tests.factories import Actor, Actors
from tests.graphql.helpers import ORDER_FIELDS, PAGE_INFO, camel, codes, data, nodes, post
from tests.orders.test_place import ADDRESS, ORDERS
from tests.test_http_conventions import assert_problem

ME_QUERY = f"""query Mine($first: Int!, $after: String) {{
  me {{ id role email fullName orders(first: $first, after: $after) {{
    edges {{ cursor node {{ {ORDER_FIELDS} }} }} {PAGE_INFO} }} }}
}}"""


async def _place(
    client: AsyncClient, buyer: Actor, lines: list[tuple[dict[str, Any], int]]
) -> dict[str, Any]:
    items = [{"product_id": p["id"], "quantity": q} for p, q in lines]
    response = await client.post(
        ORDERS, headers=buyer.headers, json={"shipping_address": ADDRESS, "items": items}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _camel_order(document: dict[str, Any]) -> dict[str, Any]:
    return {**camel(document), "items": [camel(line) for line in document["items"]]}


async def test_my_orders_are_the_rest_orders(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    mug = await create_product(client, staff, price_cents=1_250, stock=50)
    tee = await create_product(client, staff, price_cents=999, stock=50)
    placed = [
        await _place(client, buyer, lines)
        for lines in ([(mug, 2)], [(mug, 1), (tee, 3)], [(tee, 1)])
    ]
    await client.post(
        f"{ORDERS}/{placed[-1]['id']}/pay", headers=buyer.headers,
        json={"provider": "test", "token": "tok_visa"},
    )  # fmt: skip
    rest = (await client.get(f"{ORDERS}?limit=100", headers=buyer.headers)).json()["items"]
    me = (await data(client, ME_QUERY, {"first": 100}, buyer.headers))["me"]
    assert (me["id"], me["role"], me["email"]) == (str(buyer.id), "customer", buyer.email)
    assert me["fullName"] == "Test customer"
    orders = nodes(me["orders"])
    assert orders == [_camel_order(o) for o in rest]
    assert [len(o["items"]) for o in orders] == [1, 2, 1]
    assert orders[0]["paidAt"] is not None and orders[1]["paidAt"] is None


async def test_nobody_reads_anothers_orders(client: AsyncClient, actors: Actors) -> None:
    staff, alice, bob = await actors.staff(), await actors.customer(), await actors.customer()
    product = await create_product(client, staff, stock=50)
    alices = {(await _place(client, alice, [(product, 1)]))["id"] for _ in range(2)}
    bobs = {(await _place(client, bob, [(product, 2)]))["id"]}
    for who, expected in ((alice, alices), (bob, bobs), (staff, set())):
        orders = (await data(client, ME_QUERY, {"first": 100}, who.headers))["me"]["orders"]
        assert {n["id"] for n in nodes(orders)} == expected
        assert all(n["customerId"] == str(who.id) for n in nodes(orders))
    # Bob's cursor can't reach into Alice's orders: the keyset is always bounded by him.
    page = (await data(client, ME_QUERY, {"first": 1}, alice.headers))["me"]["orders"]
    theirs = await data(
        client, ME_QUERY, {"first": 10, "after": page["pageInfo"]["endCursor"]}, bob.headers
    )
    assert {n["id"] for n in nodes(theirs["me"]["orders"])} <= bobs


async def test_anonymous_me_is_null_with_an_error(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    await _place(client, buyer, [(await create_product(client, staff, stock=5), 1)])
    response = await post(client, ME_QUERY, {"first": 10})
    assert codes(response) == ["unauthorized"]
    body = response.json()
    assert body["data"] == {"me": None}
    assert body["errors"][0]["path"] == ["me"]
    # Products still resolve beside it: one field's error doesn't fail the operation.
    both = await post(client, "{ me { id } products(first: 1) { edges { cursor } } }")
    assert both.json()["data"]["me"] is None and both.json()["data"]["products"] is not None


async def test_a_bad_token_is_401_as_on_rest(client: AsyncClient) -> None:
    for header in ("Bearer not-a-token", "Basic abc", "Bearer "):
        response = await post(client, "{ __typename }", headers={"Authorization": header})
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert body["code"] == "unauthorized"


async def test_order_pages_walk_every_order_once(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=50)
    placed = [(await _place(client, buyer, [(product, 1)]))["id"] for _ in range(5)]
    seen: list[str] = []
    after = None
    while True:
        orders = (await data(client, ME_QUERY, {"first": 2, "after": after}, buyer.headers))["me"][
            "orders"
        ]
        seen += [n["id"] for n in nodes(orders)]
        if not orders["pageInfo"]["hasNextPage"]:
            break
        after = orders["pageInfo"]["endCursor"]
    assert seen == list(reversed(placed))


async def test_order_totals_beyond_32_bits_are_exact(client: AsyncClient, actors: Actors) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, price_cents=1_000_000_000, stock=10)
    order = await _place(client, buyer, [(product, 3)])
    assert order["total_cents"] == 3_000_000_000 > 2**31
    found = nodes((await data(client, ME_QUERY, {"first": 1}, buyer.headers))["me"]["orders"])
    assert found[0]["totalCents"] == 3_000_000_000
    assert found[0]["items"][0]["lineTotalCents"] == 3_000_000_000
