from __future__ import annotations

from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from backroom.main import create_app
from tests.catalog.helpers import create_product
from tests.factories import Actors
from tests.test_http_conventions import assert_problem

CART = "/api/v1/cart"


async def test_empty_cart(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    response = await client.get(CART, headers=user.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "items": [], "coupon_code": None, "subtotal_cents": 0, "discount_cents": 0,
        "tax_cents": 0, "shipping_cents": 0, "total_cents": 0, "currency": "USD",
    }  # fmt: skip


async def test_items_and_live_totals(client: AsyncClient, actors: Actors) -> None:
    staff, user = await actors.staff(), await actors.customer()
    mug = await create_product(client, staff, price_cents=1_250)
    tee = await create_product(client, staff, price_cents=999)
    await client.put(f"{CART}/items/{mug['id']}", headers=user.headers, json={"quantity": 2})
    cart = (
        await client.put(f"{CART}/items/{tee['id']}", headers=user.headers, json={"quantity": 3})
    ).json()
    assert [(i["sku"], i["quantity"], i["line_total_cents"]) for i in cart["items"]] == [
        (mug["sku"], 2, 2_500), (tee["sku"], 3, 2_997),
    ]  # fmt: skip
    assert cart["subtotal_cents"] == cart["total_cents"] == 5_497
    updated = await client.put(
        f"{CART}/items/{mug['id']}", headers=user.headers, json={"quantity": 1}
    )
    assert updated.json()["subtotal_cents"] == 1_250 + 2_997
    # Prices are live: a price change shows at once.
    await client.patch(
        f"/api/v1/products/{tee['id']}", headers=staff.headers, json={"price_cents": 1_000}
    )
    assert (await client.get(CART, headers=user.headers)).json()["subtotal_cents"] == 1_250 + 3_000
    removed = await client.delete(f"{CART}/items/{tee['id']}", headers=user.headers)
    assert [i["product_id"] for i in removed.json()["items"]] == [mug["id"]]
    assert_problem(await client.delete(f"{CART}/items/{tee['id']}", headers=user.headers), 404)
    cleared = await client.delete(CART, headers=user.headers)
    assert cleared.status_code == 204
    assert (await client.get(CART, headers=user.headers)).json()["items"] == []


@pytest.mark.parametrize("quantity", [0, 1000, -1, 1.5, "2", True, None])
async def test_bad_quantities_are_422(client: AsyncClient, actors: Actors, quantity: Any) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff)
    response = await client.put(
        f"{CART}/items/{product['id']}", headers=user.headers, json={"quantity": quantity}
    )
    assert_problem(response, 422)


async def test_unpublished_or_unknown_products_cannot_be_added(
    client: AsyncClient, actors: Actors
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    hidden = await create_product(client, staff, is_active=False)
    body = {"quantity": 1}
    assert_problem(
        await client.put(f"{CART}/items/{hidden['id']}", headers=user.headers, json=body), 404
    )
    assert_problem(await client.put(f"{CART}/items/nope", headers=user.headers, json=body), 404)


async def test_carts_are_private(client: AsyncClient, actors: Actors) -> None:
    staff, alice, bob = await actors.staff(), await actors.customer(), await actors.customer()
    product = await create_product(client, staff)
    await client.put(f"{CART}/items/{product['id']}", headers=alice.headers, json={"quantity": 4})
    assert (await client.get(CART, headers=bob.headers)).json()["items"] == []
    assert len((await client.get(CART, headers=alice.headers)).json()["items"]) == 1
    assert_problem(await client.get(CART), 401)


async def _coupon(
    client: AsyncClient, staff_headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/coupons", headers=staff_headers, json=fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_coupons_in_the_cart(client: AsyncClient, actors: Actors) -> None:
    staff, user = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, price_cents=3_333)
    await client.put(f"{CART}/items/{product['id']}", headers=user.headers, json={"quantity": 1})
    await _coupon(client, staff.headers, code="TENOFF", percent_off=10, min_subtotal_cents=5_000)
    applied = await client.put(f"{CART}/coupon", headers=user.headers, json={"code": "tenoff"})
    assert applied.status_code == 200
    assert applied.json()["coupon_code"] == "TENOFF"
    assert applied.json()["discount_cents"] == 0  # below the minimum subtotal
    more = await client.put(
        f"{CART}/items/{product['id']}", headers=user.headers, json={"quantity": 2}
    )
    assert more.json()["discount_cents"] == 667  # 666.6 rounds half up
    assert more.json()["total_cents"] == 6_666 - 667
    removed = await client.delete(f"{CART}/coupon", headers=user.headers)
    assert (removed.json()["coupon_code"], removed.json()["discount_cents"]) == (None, 0)


@pytest.mark.parametrize(
    "fields",
    [
        {"is_active": False},
        {"ends_at": "2020-01-01T00:00:00Z"},
        {"starts_at": "2999-01-01T00:00:00Z"},
    ],
)
async def test_unusable_coupons_are_422(
    client: AsyncClient, actors: Actors, fields: dict[str, Any]
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    await _coupon(client, staff.headers, code="NOPE", amount_off_cents=100, **fields)
    assert_problem(
        await client.put(f"{CART}/coupon", headers=user.headers, json={"code": "NOPE"}), 422
    )
    assert_problem(
        await client.put(f"{CART}/coupon", headers=user.headers, json={"code": "GHOST"}), 422
    )


async def test_tax_and_shipping_follow_settings(make_settings: Any) -> None:
    settings = make_settings(tax_rate_bps=825, shipping_cents=499, free_shipping_over_cents=10_000)
    app = create_app(settings)
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):
        actors = Actors(app, http)
        staff, user = await actors.staff(), await actors.customer()
        product = await create_product(http, staff, price_cents=1_234)
        await _coupon(http, staff.headers, code="FIVE", amount_off_cents=500)
        await http.put(f"{CART}/coupon", headers=user.headers, json={"code": "FIVE"})
        cart = (
            await http.put(
                f"{CART}/items/{product['id']}", headers=user.headers, json={"quantity": 3}
            )
        ).json()
        # subtotal 3702, discount 500, tax round(3202 * 0.0825) = 264.165 -> 264, shipping 499
        keys = ("subtotal_cents", "discount_cents", "tax_cents", "shipping_cents", "total_cents")
        assert tuple(cart[k] for k in keys) == (3702, 500, 264, 499, 3965)
        big = (
            await http.put(
                f"{CART}/items/{product['id']}", headers=user.headers, json={"quantity": 9}
            )
        ).json()
        assert big["shipping_cents"] == 0  # 11106 - 500 >= 10000
