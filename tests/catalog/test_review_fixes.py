"""Edge cases found in review: each was a wrong answer or a 500 before."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.catalog.helpers import CATEGORIES, PRODUCTS, create_category, create_product
from tests.factories import Actors
from tests.test_http_conventions import assert_problem


async def test_write_and_read_share_one_etag_whatever_the_database_normalises(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    attributes: dict[str, Any] = {"zeta": 1e15, "alpha": 2.0, "big": 9007199254740992, "b": True}
    created = await client.post(
        PRODUCTS, headers=staff.headers,
        json={"sku": "NORM-1", "name": "Normalised", "price_cents": 1, "attributes": attributes},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    read = await client.get(created.headers["location"])
    assert read.headers["etag"] == created.headers["etag"]
    assert read.json() == created.json()
    too_big = await client.post(
        PRODUCTS, headers=staff.headers,
        json={"sku": "NORM-2", "name": "x", "price_cents": 1, "attributes": {"f": 1e20}},
    )  # fmt: skip
    assert_problem(too_big, 422)


async def test_stock_has_a_ceiling(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=1_000_000_000)
    response = await client.post(
        f"{PRODUCTS}/{product['id']}/stock-movements", headers=staff.headers,
        json={"delta": 1, "reason": "restock"},
    )  # fmt: skip
    assert_problem(response, 409)


async def test_if_none_match_never_turns_a_write_into_304(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff)
    url = f"{PRODUCTS}/{product['id']}"
    response = await client.patch(
        url, headers={**staff.headers, "If-None-Match": "*"}, json={"name": "Renamed"}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"


async def test_redirects_carry_cache_control(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, slug="old-name")
    await client.patch(
        f"{PRODUCTS}/{product['id']}", headers=staff.headers, json={"slug": "new-name"}
    )
    moved = await client.get(f"{PRODUCTS}/by-slug/old-name")
    assert moved.status_code == 301
    assert moved.headers["cache-control"] == "public, no-cache"


async def test_category_reads_refuse_bad_tokens(client: AsyncClient) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    assert_problem(await client.get(CATEGORIES, headers=bad), 401)
    assert (await client.get(CATEGORIES)).status_code == 200


async def test_derived_category_slugs_move_aside(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    first = await create_category(client, staff, name="Gifts")
    second = await create_category(client, staff, name="Gifts")
    assert (first["slug"], second["slug"]) == ("gifts", "gifts-2")


async def test_ledger_of_a_deleted_product_is_gone(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=3)
    await client.delete(f"{PRODUCTS}/{product['id']}", headers=staff.headers)
    ledger = await client.get(f"{PRODUCTS}/{product['id']}/stock-movements", headers=staff.headers)
    assert_problem(ledger, 404)


async def test_ledger_cursor_pages_only_its_own_product(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    one = await create_product(client, staff, stock=1)
    two = await create_product(client, staff, stock=1)
    for _ in range(2):
        await client.post(
            f"{PRODUCTS}/{one['id']}/stock-movements", headers=staff.headers,
            json={"delta": 1, "reason": "restock"},
        )  # fmt: skip
    page = await client.get(
        f"{PRODUCTS}/{one['id']}/stock-movements?limit=1", headers=staff.headers
    )
    cursor = page.json()["next_cursor"]
    other = await client.get(
        f"{PRODUCTS}/{two['id']}/stock-movements?cursor={cursor}", headers=staff.headers
    )
    assert_problem(other, 422)
