"""Depth, cost, aliases and tokens: an operation that asks for too much is refused
before any resolver runs, with a clear error; and a request's queries don't grow
with the page size (no N+1)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from graphql import get_introspection_query
from httpx import AsyncClient

from backroom.graphql.limits import MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_TOKENS
from tests.catalog.helpers import create_category, create_product
from tests.factories import Actors
from tests.graphql.helpers import (
    GRAPHQL_RESPONSE,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    codes,
    counting_queries,
    data,
    post,
)
from tests.orders.test_place import ADDRESS, ORDERS


def _parents(levels: int) -> str:
    """``products`` down to a category with ``levels`` parents: depth 4 + levels."""
    inner = "name"
    for _ in range(levels):
        inner = f"parent {{ {inner} }}"
    return f"{{ products {{ edges {{ node {{ category {{ {inner} }} }} }} }} }}"


async def test_depth_is_limited(client: AsyncClient) -> None:
    # The depth counts the levels below the root field: products=0 … the leaf.
    assert "errors" not in (await post(client, _parents(MAX_DEPTH - 4))).json()
    response = await post(client, _parents(MAX_DEPTH - 3))
    assert codes(response) == ["query_too_deep"]
    assert f"maximum operation depth of {MAX_DEPTH}" in response.json()["errors"][0]["message"]
    assert "data" not in response.json()


async def test_cost_is_limited_by_first_times_nested_fields(client: AsyncClient) -> None:
    page = f"products(first: 100) {{ edges {{ node {{ {PRODUCT_FIELDS} category {{ name }} }} }} }}"
    assert "errors" not in (await post(client, f"{{ {page} }}")).json()
    many = " ".join(f"p{i}: {page}" for i in range(7))
    response = await post(client, f"{{ {many} }}")
    assert codes(response) == ["query_too_complex"]
    error = response.json()["errors"][0]
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == MAX_COST
    # A variable counts with its value; the same query with small pages passes.
    query = "query($n: Int!) { " + many.replace("first: 100", "first: $n") + " }"
    assert codes(await post(client, query, {"n": 100})) == ["query_too_complex"]
    assert "errors" not in (await post(client, query, {"n": 5})).json()


async def test_introspection_is_on_and_counted(client: AsyncClient) -> None:
    # The query that GraphiQL and code generators send fits the limits...
    full = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True,
        schema_description=True, input_value_deprecation=True,
    )  # fmt: skip
    types = (await data(client, full))["__schema"]["types"]
    assert {"Product", "Category", "Order", "ProductConnection", "BigInt"} <= {
        t["name"] for t in types
    }
    # ...but introspection nested to multiply itself is refused like any other query.
    nested = "fields { type { ofType { " * 4 + "name" + " } } }" * 4
    response = await post(client, f"{{ __schema {{ types {{ {nested} }} }} }}")
    assert codes(response) == ["query_too_complex"]


async def test_aliases_and_tokens_are_limited(client: AsyncClient) -> None:
    aliased = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    assert codes(await post(client, f"{{ {aliased} }}")) == ["too_many_aliases"]
    long = " ".join("__typename" for _ in range(MAX_TOKENS))
    assert codes(await post(client, f"{{ {long} }}")) == ["too_many_tokens"]


async def test_exploding_fragments_are_refused_quickly(client: AsyncClient) -> None:
    # Each fragment spreads the next twice: 2^40 fields once expanded.
    levels = 40
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"
    started = time.perf_counter()
    response = await post(client, query)
    assert time.perf_counter() - started < 2
    assert codes(response) == ["query_too_complex"]


async def test_deeply_chained_fragments_are_refused(client: AsyncClient) -> None:
    levels = 240  # each fragment spreads the next: no field is deep, the nesting is
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(levels))
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"
    response = await post(client, query)
    assert codes(response) == ["query_too_deep"]
    assert response.json()["errors"][0]["message"] == "Fragments are nested too deeply."


@pytest.mark.parametrize(
    "accept", [GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE}, application/json;q=0.9"]
)
async def test_refusals_are_400_with_the_graphql_media_type(
    client: AsyncClient, accept: str
) -> None:
    response = await post(client, _parents(MAX_DEPTH), headers={"Accept": accept})
    assert codes(response, 400) == ["query_too_deep"]
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    executed = await post(client, "{ __typename }", headers={"Accept": accept})
    assert executed.status_code == 200 and executed.headers["content-type"] == GRAPHQL_RESPONSE


async def _catalog(client: AsyncClient, actors: Actors, products: int) -> None:
    staff = await actors.staff()
    top = await create_category(client, staff, name="Top")
    middle = await create_category(client, staff, name="Middle", parent_id=top["id"])
    leaves = [
        await create_category(client, staff, name=f"Leaf {i}", parent_id=middle["id"])
        for i in range(3)
    ]
    for i in range(products):
        await create_product(client, staff, category_id=leaves[i % 3]["id"])


async def test_product_queries_do_not_grow_with_first(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    await _catalog(client, actors, products=30)
    query = (
        "query($n: Int!) { products(first: $n) { edges { node { id category { name "
        "parent { name parent { name } } } } } } categories(first: $n) { edges { node { "
        "parent { name } } } } }"
    )
    counts: dict[int, int] = {}
    for first in (1, 10, 30):
        with counting_queries(app) as statements:
            found = await data(client, query, {"n": first})
        assert len(found["products"]["edges"]) == first
        counts[first] = len(statements)
    # products, categories, then at most one batch of categories per level below
    # (fewer when a level's categories were already loaded for another path).
    assert max(counts.values()) <= 5 and counts[30] <= counts[1], counts


async def test_order_queries_do_not_grow_with_first(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    products = [await create_product(client, staff, stock=100) for _ in range(3)]
    items = [{"product_id": p["id"], "quantity": 1} for p in products]
    for _ in range(12):
        body: dict[str, Any] = {"shipping_address": ADDRESS, "items": items}
        assert (await client.post(ORDERS, headers=buyer.headers, json=body)).status_code == 201
    orders = f"orders(first: $n) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }}"
    query = f"query($n: Int!) {{ me {{ email {orders} }} }}"
    await data(client, query, {"n": 1}, buyer.headers)  # warm the user-state cache
    counts: dict[int, int] = {}
    for first in (1, 5, 12):
        with counting_queries(app) as statements:
            found = await data(client, query, {"n": first}, buyer.headers)
        assert sum(len(e["node"]["items"]) for e in found["me"]["orders"]["edges"]) == 3 * first
        counts[first] = len(statements)
    assert counts[1] == counts[5] == counts[12] <= 8, counts


def test_the_limits_leave_room_for_real_pages() -> None:
    from graphql import parse

    from backroom.graphql.limits import estimate
    from backroom.graphql.schema import schema

    full_orders = f"{{ me {{ orders(first: 100) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }} }}"
    for query in (full_orders, get_introspection_query(descriptions=True)):
        assert estimate(schema._schema, parse(query), None) < MAX_COST
