from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.catalog.helpers import PRODUCTS, create_category, create_product
from tests.factories import Actor

EXPORTS = "/api/v1/exports"
HEADER = b"sku,name,description,price_cents,stock,category_slug,is_active\r\n"


async def tricky_catalog(client: AsyncClient, staff: Actor) -> dict[str, Any]:
    """Products whose text needs quoting, created out of SKU order, one of them deleted."""
    mugs = await create_category(client, staff, name="Mugs", slug="mugs")
    made = {
        "B-2": await create_product(
            client, staff, sku="B-2", name="Café crème ☕", description="", price_cents=0,
            stock=0, is_active=False,
        ),
        "A-1": await create_product(
            client, staff, sku="A-1", name='Mug, "large"', description="line one\nline two",
            price_cents=1250, stock=3, category_id=mugs["id"],
        ),
        "C-3": await create_product(
            client, staff, sku="C-3", name="Plain; simple", description="tab\there, naïve",
            price_cents=1_000_000_000, stock=7,
        ),
    }  # fmt: skip
    gone = await create_product(client, staff, sku="AA-0", name="Deleted")
    response = await client.delete(f"{PRODUCTS}/{gone['id']}", headers=staff.headers)
    assert response.status_code == 204, response.text
    return made


async def download(client: AsyncClient, path: str, staff: Actor) -> bytes:
    response = await client.get(f"{EXPORTS}/{path}", headers=staff.headers)
    assert response.status_code == 200, response.text
    return response.content
