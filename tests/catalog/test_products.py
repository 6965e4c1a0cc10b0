from __future__ import annotations

import uuid

import pytest
from httpx import AsyncClient

from backroom.catalog.schemas import ProductRead
from tests.catalog.helpers import PRODUCTS, create_category, create_product, product_payload
from tests.factories import Actors
from tests.test_http_conventions import assert_problem


async def test_create_returns_the_product_with_location_and_etag(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    category = await create_category(client, staff)
    payload = product_payload(
        name="Crème Brûlée Torch", description="<b>hot</b>", category_id=category["id"],
        attributes={"color": "red", "watts": 1200, "ratio": 1.5, "cordless": True}, stock=7,
    )  # fmt: skip
    response = await client.post(PRODUCTS, headers=staff.headers, json=payload)
    assert response.status_code == 201, response.text
    body = response.json()
    ProductRead.model_validate(body)  # the documented shape
    assert response.headers["location"] == f"{PRODUCTS}/{body['id']}"
    assert body["slug"] == "creme-brulee-torch"
    assert body["stock"] == 7
    assert body["currency"] == "USD"
    assert body["description"] == "<b>hot</b>"  # stored as given, never rendered
    assert body["attributes"] == payload["attributes"]
    read = await client.get(response.headers["location"])
    assert read.json() == body
    assert read.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_cents", -1),
        ("price_cents", 1_000_000_001),
        ("price_cents", 10.5),
        ("price_cents", "100"),
        ("price_cents", True),
        ("sku", "has space"),
        ("sku", "ünïcode"),
        ("sku", "x" * 65),
        ("sku", ""),
        ("name", ""),
        ("name", "n" * 201),
        ("description", "d" * 20_001),
        ("slug", "Not A Slug"),
        ("attributes", {"nested": {"a": 1}}),
        ("attributes", {f"k{i}": i for i in range(51)}),
        ("attributes", {"list": [1, 2]}),
        ("stock", -1),
        ("is_active", "yes"),
        ("id", "chosen-by-client"),
    ],
)
async def test_invalid_products_are_422(
    client: AsyncClient, actors: Actors, field: str, value: object
) -> None:
    staff = await actors.staff()
    response = await client.post(
        PRODUCTS, headers=staff.headers, json=product_payload(**{field: value})
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"].split(".")[0] == field


async def test_whole_number_floats_are_integers(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, price_cents=1500.0)
    assert product["price_cents"] == 1500


async def test_ten_megabyte_description_is_413(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    payload = product_payload(description="d" * 10_000_000)
    assert_problem(await client.post(PRODUCTS, headers=staff.headers, json=payload), 413)


async def test_unique_sku_and_slug(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    first = await create_product(client, staff, name="Blue Mug")
    assert_problem(
        await client.post(PRODUCTS, headers=staff.headers, json=product_payload(sku=first["sku"])),
        409,
    )
    assert_problem(
        await client.post(PRODUCTS, headers=staff.headers, json=product_payload(slug="blue-mug")),
        409,
    )
    second = await create_product(client, staff, name="Blue Mug")  # derived slug moves aside
    assert second["slug"] == "blue-mug-2"


async def test_hostile_text_is_stored_verbatim(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    name = "<img src=x onerror=alert(1)>'; DROP TABLE product; --"
    product = await create_product(client, staff, name=name, description="1' OR '1'='1")
    assert product["name"] == name
    read = await client.get(f"{PRODUCTS}/{product['id']}")
    assert read.json()["description"] == "1' OR '1'='1"
    assert read.headers["content-type"] == "application/json"


async def test_inactive_products_are_only_for_staff(client: AsyncClient, actors: Actors) -> None:
    staff, customer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, is_active=False)
    url = f"{PRODUCTS}/{product['id']}"
    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers=customer.headers), 404)
    assert_problem(await client.get(f"{PRODUCTS}/by-slug/{product['slug']}"), 404)
    assert (await client.get(url, headers=staff.headers)).status_code == 200
    listed = await client.get(PRODUCTS)
    assert product["id"] not in {p["id"] for p in listed.json()["items"]}


async def test_conditional_reads_and_cache_headers(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff)
    url = f"{PRODUCTS}/{product['id']}"
    first = await client.get(url)
    assert first.headers["cache-control"] == "public, no-cache"
    assert first.headers["last-modified"].endswith("GMT")
    etag = first.headers["etag"]
    assert etag.startswith('"')  # strong
    cached = await client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert "content-length" not in cached.headers
    personal = await client.get(url, headers=staff.headers)
    assert personal.headers["cache-control"] == "private, no-cache"


async def test_put_and_patch_with_if_match(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, attributes={"color": "red", "size": "M"})
    url = f"{PRODUCTS}/{product['id']}"
    etag = (await client.get(url)).headers["etag"]
    editor = {**staff.headers, "If-Match": etag}
    patched = await client.patch(
        url,
        headers={**editor, "Content-Type": "application/merge-patch+json"},
        content=b'{"price_cents": 999, "attributes": {"color": null, "fit": "slim"}}',
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["price_cents"] == 999
    assert patched.json()["attributes"] == {"size": "M", "fit": "slim"}
    assert patched.headers["etag"] != etag
    # The second editor still holds the old ETag: their write is refused.
    stale = await client.put(url, headers=editor, json=product_payload(sku=product["sku"]))
    assert_problem(stale, 412)
    fresh = {**staff.headers, "If-Match": patched.headers["etag"]}
    replaced = await client.put(
        url, headers=fresh, json={"sku": product["sku"], "name": "New", "price_cents": 5}
    )
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["name"], body["attributes"], body["slug"]) == ("New", {}, product["slug"])
    read = await client.get(url)
    assert read.json() == body
    assert read.headers["etag"] == replaced.headers["etag"]


async def test_stock_is_not_writable_through_the_product(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff)
    url = f"{PRODUCTS}/{product['id']}"
    assert_problem(await client.patch(url, headers=staff.headers, json={"stock": 5}), 422)
    full = product_payload(sku=product["sku"], stock=5)
    assert_problem(await client.put(url, headers=staff.headers, json=full), 422)


async def test_delete_hides_the_product_and_frees_the_sku(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff)
    url = f"{PRODUCTS}/{product['id']}"
    await client.get(url)  # warm the cache
    response = await client.delete(url, headers=staff.headers)
    assert response.status_code == 204
    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers=staff.headers), 404)
    assert_problem(await client.delete(url, headers=staff.headers), 404)
    again = await create_product(client, staff, sku=product["sku"])
    assert again["id"] != product["id"]


async def test_renamed_slugs_redirect_in_one_hop(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, slug="first")
    url = f"{PRODUCTS}/{product['id']}"
    for slug in ("second", "third"):
        response = await client.patch(url, headers=staff.headers, json={"slug": slug})
        assert response.json()["slug"] == slug
    for old in ("first", "second"):
        moved = await client.get(f"{PRODUCTS}/by-slug/{old}")
        assert moved.status_code == 301
        assert moved.headers["location"] == f"{PRODUCTS}/by-slug/third"
    current = await client.get(f"{PRODUCTS}/by-slug/third")
    assert current.status_code == 200
    assert current.json()["id"] == product["id"]
    # A new product may take over a former slug; the redirect then stops.
    other = await create_product(client, staff, slug="first")
    taken = await client.get(f"{PRODUCTS}/by-slug/first")
    assert taken.json()["id"] == other["id"]
    assert_problem(await client.get(f"{PRODUCTS}/by-slug/never-was"), 404)
    assert_problem(await client.get(f"{PRODUCTS}/by-slug/a%00b"), 404)


async def test_unknown_and_malformed_ids_are_404(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    assert_problem(await client.get(f"{PRODUCTS}/{uuid.uuid4()}"), 404)
    assert_problem(await client.get(f"{PRODUCTS}/not-a-uuid"), 404)
    assert_problem(
        await client.put(
            f"{PRODUCTS}/{uuid.uuid4()}", headers=staff.headers, json=product_payload()
        ),
        404,
    )


async def test_unknown_category_is_422(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    response = await client.post(
        PRODUCTS, headers=staff.headers, json=product_payload(category_id=str(uuid.uuid4()))
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "category_id"


async def test_reads_are_never_stale_after_a_write(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=3)
    url = f"{PRODUCTS}/{product['id']}"
    for i in range(5):
        await client.get(url)  # served from the cache after the first read
        await client.patch(url, headers=staff.headers, json={"price_cents": 100 + i})
        assert (await client.get(url)).json()["price_cents"] == 100 + i
        await client.post(
            f"{url}/stock-movements", headers=staff.headers, json={"delta": 1, "reason": "restock"}
        )
        assert (await client.get(url)).json()["stock"] == 4 + i
