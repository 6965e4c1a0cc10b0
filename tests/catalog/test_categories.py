from __future__ import annotations

import uuid

from httpx import AsyncClient

from tests.catalog.helpers import CATEGORIES, create_category, create_product, next_url
from tests.factories import Actors
from tests.test_http_conventions import assert_problem


async def test_create_read_and_conditional_get(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    response = await client.post(
        CATEGORIES, headers=staff.headers, json={"name": "Winter Coats & Jackets"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "slug", "parent_id", "description"}
    assert body["slug"] == "winter-coats-jackets"
    assert response.headers["location"] == f"{CATEGORIES}/{body['id']}"
    read = await client.get(response.headers["location"])
    assert read.json() == body
    assert read.headers["etag"] == response.headers["etag"]
    assert read.headers["cache-control"] == "public, no-cache"
    assert "last-modified" in read.headers
    again = await client.get(
        response.headers["location"], headers={"If-None-Match": read.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_duplicate_slug_is_409(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await create_category(client, staff, slug="shoes")
    response = await client.post(
        CATEGORIES, headers=staff.headers, json={"name": "S", "slug": "shoes"}
    )
    assert_problem(response, 409)


async def test_tree_rules(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    root = await create_category(client, staff)
    child = await create_category(client, staff, parent_id=root["id"])
    grandchild = await create_category(client, staff, parent_id=child["id"])
    cycle = await client.patch(
        f"{CATEGORIES}/{root['id']}", headers=staff.headers, json={"parent_id": grandchild["id"]}
    )
    assert assert_problem(cycle, 422)["errors"][0]["field"] == "parent_id"
    self_parent = await client.patch(
        f"{CATEGORIES}/{root['id']}", headers=staff.headers, json={"parent_id": root["id"]}
    )
    assert_problem(self_parent, 422)
    unknown = await client.post(
        CATEGORIES, headers=staff.headers, json={"name": "x", "parent_id": str(uuid.uuid4())}
    )
    assert_problem(unknown, 422)
    children = await client.get(f"{CATEGORIES}?parent_id={root['id']}")
    assert [c["id"] for c in children.json()["items"]] == [child["id"]]


async def test_delete_refuses_non_empty_categories(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    parent = await create_category(client, staff)
    child = await create_category(client, staff, parent_id=parent["id"])
    assert_problem(await client.delete(f"{CATEGORIES}/{parent['id']}", headers=staff.headers), 409)
    product = await create_product(client, staff, category_id=child["id"])
    assert_problem(await client.delete(f"{CATEGORIES}/{child['id']}", headers=staff.headers), 409)
    await client.delete(f"/api/v1/products/{product['id']}", headers=staff.headers)
    assert (
        await client.delete(f"{CATEGORIES}/{child['id']}", headers=staff.headers)
    ).status_code == 204
    assert (
        await client.delete(f"{CATEGORIES}/{parent['id']}", headers=staff.headers)
    ).status_code == 204
    assert_problem(await client.get(f"{CATEGORIES}/{parent['id']}"), 404)


async def test_if_match_guards_writes(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    category = await create_category(client, staff)
    url = f"{CATEGORIES}/{category['id']}"
    etag = (await client.get(url)).headers["etag"]
    first = await client.put(
        url, headers={**staff.headers, "If-Match": etag}, json={"name": "Renamed"}
    )
    assert first.status_code == 200
    assert first.json()["slug"] == category["slug"]  # PUT without slug keeps it
    stale = await client.patch(
        url, headers={**staff.headers, "If-Match": etag}, json={"description": "x"}
    )
    assert_problem(stale, 412)
    assert_problem(await client.delete(url, headers={**staff.headers, "If-Match": etag}), 412)


async def test_customers_cannot_write(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    assert_problem(await client.post(CATEGORIES, headers=customer.headers, json={"name": "x"}), 403)
    assert_problem(await client.post(CATEGORIES, json={"name": "x"}), 401)


async def test_list_pages_by_name(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    names = ["delta", "alpha", "charlie", "bravo", "echo"]
    for name in names:
        await create_category(client, staff, name=name)
    seen: list[str] = []
    url: str | None = f"{CATEGORIES}?limit=2"
    while url:
        response = await client.get(url)
        seen += [c["name"] for c in response.json()["items"]]
        url = next_url(response)
    assert seen == sorted(names)
