"""Products and categories over GraphQL: the same data and the same permissions as REST."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from tests.catalog.helpers import CATEGORIES, PRODUCTS, create_category, create_product
from tests.factories import Actor, Actors
from tests.graphql.helpers import (
    CATEGORY_FIELDS,
    PAGE_INFO,
    PRODUCT_FIELDS,
    camel,
    codes,
    data,
    nodes,
    post,
)

PRODUCTS_QUERY = f"""
query Products($first: Int!, $after: String, $q: String, $categoryId: ID, $isActive: Boolean) {{
  products(first: $first, after: $after, q: $q, categoryId: $categoryId, isActive: $isActive) {{
    edges {{ cursor node {{ {PRODUCT_FIELDS} category {{ {CATEGORY_FIELDS} }} }} }}
    {PAGE_INFO}
  }}
}}"""
PRODUCT_QUERY = f"""
query One($id: ID, $slug: String) {{ product(id: $id, slug: $slug) {{ {PRODUCT_FIELDS} }} }}"""


@pytest.fixture
async def shop(client: AsyncClient, actors: Actors) -> tuple[Actor, dict[str, Any]]:
    """Seven products, two in a child category, one of them inactive."""
    staff = await actors.staff()
    gear = await create_category(client, staff, name="Gear", description="all of it")
    shoes = await create_category(client, staff, name="Shoes", parent_id=gear["id"])
    for n, (name, category) in enumerate(
        [("Trail Runner", shoes), ("Road Runner", shoes), ("Canvas Tote", None),
         ("Wool Socks", gear), ("Rain Jacket", None), ("Water Bottle", None)]
    ):  # fmt: skip
        await create_product(
            client, staff, name=name, stock=n, category_id=category and category["id"],
            attributes={"colour": "red", "size": n, "new": n % 2 == 0},
        )  # fmt: skip
    hidden = await create_product(client, staff, name="Hidden Runner", is_active=False)
    return staff, {"gear": gear, "shoes": shoes, "hidden": hidden}


async def _rest_products(client: AsyncClient, query: str = "", headers: Any = None) -> list[Any]:
    response = await client.get(f"{PRODUCTS}?limit=100{query}", headers=headers or {})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _graphql_products(
    client: AsyncClient, headers: dict[str, str] | None = None, **variables: Any
) -> list[dict[str, Any]]:
    found = await data(client, PRODUCTS_QUERY, {"first": 100, **variables}, headers)
    return nodes(found["products"])


async def test_products_are_the_rest_listing(client: AsyncClient, shop: Any) -> None:
    rest = await _rest_products(client)
    graphql = await _graphql_products(client)
    categories = {c["id"]: c for c in (await client.get(f"{CATEGORIES}?limit=100")).json()["items"]}
    assert len(graphql) == len(rest) == 6
    for node, document in zip(graphql, rest, strict=True):
        category = node.pop("category")
        assert node == camel(document)
        expected = categories.get(document["category_id"])
        assert category == (camel(expected) if expected else None)


async def test_filters_match_rest(client: AsyncClient, shop: Any) -> None:
    _, made = shop
    gear, shoes = made["gear"]["id"], made["shoes"]["id"]
    for rest_query, variables in [
        ("&q=runner", {"q": "runner"}),
        (f"&category_id={shoes}", {"categoryId": shoes}),
        (f"&q=runner&category_id={gear}", {"q": "runner", "categoryId": gear}),
        ("&category_id=not-an-id", {"categoryId": "not-an-id"}),
    ]:  # fmt: skip
        rest = [p["id"] for p in await _rest_products(client, rest_query)]
        graphql = [p["id"] for p in await _graphql_products(client, **variables)]
        assert graphql == rest, variables
    assert len(await _graphql_products(client, q="runner")) == 2


async def test_pagination_walks_every_product_exactly_once(
    client: AsyncClient, shop: Any, actors: Actors
) -> None:
    staff, _ = shop
    for headers, expected in [({}, 6), (staff.headers, 7)]:
        seen: list[str] = []
        after: str | None = None
        while True:
            page = (await data(client, PRODUCTS_QUERY, {"first": 2, "after": after}, headers))[
                "products"
            ]
            seen += [edge["node"]["id"] for edge in page["edges"]]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == expected
        assert seen == [p["id"] for p in await _rest_products(client, headers=headers)]


async def test_an_edge_cursor_continues_after_its_node(client: AsyncClient, shop: Any) -> None:
    everything = (await data(client, PRODUCTS_QUERY, {"first": 6}))["products"]["edges"]
    rest = await data(client, PRODUCTS_QUERY, {"first": 10, "after": everything[2]["cursor"]})
    assert [e["node"]["id"] for e in rest["products"]["edges"]] == [
        e["node"]["id"] for e in everything[3:]
    ]
    # REST's cursors are the same kind: one continues the other's listing.
    first_page = await client.get(f"{PRODUCTS}?limit=3")
    cursor = first_page.json()["next_cursor"]
    continued = await data(client, PRODUCTS_QUERY, {"first": 10, "after": cursor})
    assert [n["id"] for n in nodes(continued["products"])] == [
        e["node"]["id"] for e in everything[3:]
    ]


async def test_inactive_products_are_for_staff_only(
    client: AsyncClient, shop: Any, actors: Actors
) -> None:
    staff, made = shop
    hidden = made["hidden"]
    customer = await actors.customer()
    for headers in ({}, customer.headers):
        ids = [p["id"] for p in await _graphql_products(client, headers)]
        assert hidden["id"] not in ids
        for variables in ({"id": hidden["id"]}, {"slug": hidden["slug"]}):
            assert (await data(client, PRODUCT_QUERY, variables, headers))["product"] is None
        refused = await post(
            client, PRODUCTS_QUERY, {"first": 5, "isActive": False}, headers=headers
        )
        assert codes(refused) == ["forbidden"]
        assert refused.json()["data"] == {"products": None}
    assert hidden["id"] in [p["id"] for p in await _graphql_products(client, staff.headers)]
    only_hidden = await _graphql_products(client, staff.headers, isActive=False)
    assert [p["id"] for p in only_hidden] == [hidden["id"]]
    found = await data(client, PRODUCT_QUERY, {"id": hidden["id"]}, staff.headers)
    assert found["product"]["isActive"] is False


async def test_product_by_id_or_slug_is_the_rest_document(
    client: AsyncClient, shop: Any, actors: Actors
) -> None:
    staff, _ = shop
    product = await create_product(client, staff, slug="old-name", attributes={"a": 1.5})
    renamed = await client.patch(
        f"{PRODUCTS}/{product['id']}", headers=staff.headers, json={"slug": "new-name"}
    )
    expected = camel(renamed.json())
    for variables in ({"id": product["id"]}, {"slug": "new-name"}, {"slug": "old-name"}):
        assert (await data(client, PRODUCT_QUERY, variables))["product"] == expected
    for variables in ({"id": str(uuid.uuid4())}, {"id": "nope"}, {"slug": "never-was"}):
        assert (await data(client, PRODUCT_QUERY, variables))["product"] is None
    await client.delete(f"{PRODUCTS}/{product['id']}", headers=staff.headers)
    assert (await data(client, PRODUCT_QUERY, {"id": product["id"]}))["product"] is None
    for both_or_neither in ({}, {"id": product["id"], "slug": "new-name"}):
        assert codes(await post(client, PRODUCT_QUERY, both_or_neither)) == ["validation_error"]


async def test_categories_are_the_rest_listing_with_parents(client: AsyncClient, shop: Any) -> None:
    _, made = shop
    query = f"""query($first: Int!, $after: String, $parentId: ID) {{
      categories(first: $first, after: $after, parentId: $parentId) {{
        edges {{ node {{ {CATEGORY_FIELDS} parent {{ {CATEGORY_FIELDS} parent {{ id }} }} }} }}
        {PAGE_INFO}
      }}
    }}"""
    rest = (await client.get(f"{CATEGORIES}?limit=100")).json()["items"]
    found = nodes((await data(client, query, {"first": 100}))["categories"])
    assert [{k: v for k, v in n.items() if k != "parent"} for n in found] == [
        camel(c) for c in rest
    ]
    shoes = next(n for n in found if n["id"] == made["shoes"]["id"])
    assert shoes["parent"] == {**camel(made["gear"]), "parent": None}
    children = await data(client, query, {"first": 10, "parentId": made["gear"]["id"]})
    assert [n["id"] for n in nodes(children["categories"])] == [made["shoes"]["id"]]
    first = (await data(client, query, {"first": 1}))["categories"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = await data(client, query, {"first": 1, "after": first["pageInfo"]["endCursor"]})
    assert [n["id"] for n in nodes(first) + nodes(second["categories"])] == [c["id"] for c in rest]


async def test_money_beyond_32_bits_is_exact(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, price_cents=1_000_000_000)
    found = await data(client, PRODUCT_QUERY, {"id": product["id"]})
    assert found["product"]["priceCents"] == 1_000_000_000
