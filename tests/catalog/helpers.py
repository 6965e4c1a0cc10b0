from __future__ import annotations

import itertools
from typing import Any

from httpx import AsyncClient, Response

from tests.factories import Actor

PRODUCTS = "/api/v1/products"
CATEGORIES = "/api/v1/categories"
_n = itertools.count()


def product_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_n)
    payload: dict[str, Any] = {
        "sku": f"SKU-{n:05d}",
        "name": f"Product {n}",
        "price_cents": 1000 + n,
    }
    payload.update(overrides)
    return payload


async def create_product(client: AsyncClient, staff: Actor, **overrides: Any) -> dict[str, Any]:
    response = await client.post(PRODUCTS, headers=staff.headers, json=product_payload(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_category(client: AsyncClient, staff: Actor, **fields: Any) -> dict[str, Any]:
    body = {"name": f"Category {next(_n)}", **fields}
    response = await client.post(CATEGORIES, headers=staff.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def next_url(response: Response) -> str | None:
    link = response.headers.get("link")
    return link.split(">")[0].lstrip("<") if link else None
