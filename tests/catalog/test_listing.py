from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event

from backroom.db import Prepared
from tests.catalog.helpers import PRODUCTS, create_category, create_product, next_url
from tests.factories import Actor, Actors
from tests.test_http_conventions import assert_problem


async def _all_pages(
    client: AsyncClient, url: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_page: str | None = url
    while next_page:
        response = await client.get(next_page, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        assert (body["next_cursor"] is None) == (next_url(response) is None)
        next_page = next_url(response)
    return items


@pytest.fixture
async def shop(
    client: AsyncClient, actors: Actors
) -> tuple[Actor, list[dict[str, Any]], dict[str, Any]]:
    staff = await actors.staff()
    shoes = await create_category(client, staff, name="Shoes")
    specs = [
        ("Trail Runner", 8_999, 5, shoes["id"], "grippy outsole for muddy trails"),
        ("Road Runner", 12_999, 0, shoes["id"], "light and fast"),
        ("Canvas Tote", 1_999, 12, None, "carries everything"),
        ("Wool Socks", 1_299, 40, None, "warm merino, trail tested"),
        ("Rain Jacket", 15_999, 3, None, "keeps you dry"),
        ("Water Bottle", 2_499, 0, None, "steel, 750 ml"),
        ("Headlamp", 3_999, 9, None, "300 lumens for night trails"),
    ]
    products = [
        await create_product(
            client,
            staff,
            name=name,
            price_cents=price,
            stock=stock,
            category_id=category,
            description=text,
        )
        for name, price, stock, category, text in specs
    ]
    return staff, products, shoes


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("name", "name", False), ("-name", "name", True),
        ("price", "price_cents", False), ("-price", "price_cents", True),
        ("created_at", "created_at", False), ("-created_at", "created_at", True),
    ],
)  # fmt: skip
async def test_every_sort_pages_through_each_product_once(
    client: AsyncClient, shop: Any, sort: str, key: str, reverse: bool
) -> None:
    _, products, _ = shop
    items = await _all_pages(client, f"{PRODUCTS}?limit=2&sort={sort}")
    assert len(items) == len(products)
    assert len({p["id"] for p in items}) == len(products)
    values = [p[key] for p in items]
    assert values == sorted(values, reverse=reverse)


async def test_default_sort_is_newest_first(client: AsyncClient, shop: Any) -> None:
    _, products, _ = shop
    items = (await client.get(PRODUCTS)).json()["items"]
    assert [p["id"] for p in items] == [p["id"] for p in reversed(products)]


async def test_filters(client: AsyncClient, shop: Any) -> None:
    _, _, shoes = shop

    async def names(query: str) -> set[str]:
        return {p["name"] for p in await _all_pages(client, f"{PRODUCTS}?limit=3&{query}")}

    assert await names(f"category_id={shoes['id']}") == {"Trail Runner", "Road Runner"}
    assert await names("min_price=2000&max_price=9000") == {
        "Trail Runner",
        "Water Bottle",
        "Headlamp",
    }
    assert await names("in_stock=true&max_price=3000") == {"Canvas Tote", "Wool Socks"}
    assert await names("q=trail") == {"Trail Runner", "Wool Socks", "Headlamp"}
    assert await names("q=RUNN") == {"Trail Runner", "Road Runner"}  # prefix, any case
    assert await names("q=trail runner") == {"Trail Runner"}  # every term must match
    assert await names("q=" + "'; DROP TABLE product; --") == set()
    assert await names("q=<script>") == set()
    assert await names("q=%25%25%25") == set()  # no searchable word at all
    assert await names("category_id=not-an-id") == set()


async def test_search_matches_sku(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await create_product(client, staff, sku="ZX-9000-BLK", name="Mystery Box")
    found = (await client.get(f"{PRODUCTS}?q=zx-9000")).json()["items"]
    assert [p["name"] for p in found] == ["Mystery Box"]


async def test_is_active_filter_is_for_staff(
    client: AsyncClient, shop: Any, actors: Actors
) -> None:
    staff, products, _ = shop
    hidden = await create_product(client, staff, is_active=False)
    customer = await actors.customer()
    assert_problem(await client.get(f"{PRODUCTS}?is_active=false", headers=customer.headers), 403)
    assert_problem(await client.get(f"{PRODUCTS}?is_active=false"), 403)
    inactive = await _all_pages(client, f"{PRODUCTS}?is_active=false", staff.headers)
    assert [p["id"] for p in inactive] == [hidden["id"]]
    everything = await _all_pages(client, f"{PRODUCTS}?limit=100", staff.headers)
    assert len(everything) == len(products) + 1


@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "limit=101", "limit=x", "sort=price_desc", "sort=", "min_price=-1",
        "max_price=abc", "min_price=10&max_price=5", "cursor=forged", "cursor=abc.def",
        "in_stock=maybe", "q=" + "a" * 201,
    ],
)  # fmt: skip
async def test_bad_parameters_are_422(client: AsyncClient, query: str) -> None:
    assert_problem(await client.get(f"{PRODUCTS}?{query}"), 422)


async def test_cursor_is_bound_to_its_sort(client: AsyncClient, shop: Any) -> None:
    first = await client.get(f"{PRODUCTS}?limit=2&sort=price")
    cursor = first.json()["next_cursor"]
    assert cursor
    assert (await client.get(f"{PRODUCTS}?limit=2&sort=price&cursor={cursor}")).status_code == 200
    assert_problem(await client.get(f"{PRODUCTS}?limit=2&sort=name&cursor={cursor}"), 422)
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert_problem(await client.get(f"{PRODUCTS}?sort=price&cursor={tampered}"), 422)


async def test_a_page_is_one_query_whatever_its_size(
    app: FastAPI, client: AsyncClient, shop: Any
) -> None:
    statements: list[str] = []
    engine = app.state.ctx.engine.sync_engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    Prepared.observer = statements.append  # queries run straight on the driver
    try:
        sizes = {}
        for limit in (1, 3, 100):
            statements.clear()
            response = await client.get(f"{PRODUCTS}?limit={limit}&q=t")
            assert response.status_code == 200
            sizes[limit] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        Prepared.observer = None
    assert sizes[1] == sizes[3] == sizes[100] == 1
