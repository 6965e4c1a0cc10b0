"""Talking to the cluster over HTTP like a client would: accounts, products, orders."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.cluster.harness import Cluster

PASSWORD = "correct-horse-battery-9"
ADDRESS = {"name": "C", "line1": "1 Main St", "city": "Town", "postal_code": "1", "country": "US"}


@dataclass
class Account:
    email: str
    headers: dict[str, str]


def client(base: str, timeout: float = 10) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=timeout)


async def sign_in(http: httpx.AsyncClient, email: str) -> Account:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return Account(email, {"Authorization": f"Bearer {response.json()['access_token']}"})


async def staff(cluster: Cluster, http: httpx.AsyncClient) -> Account:
    """An admin made with the CLI (no one can register as staff)."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await asyncio.to_thread(
        cluster.backroom, "create-user", "--email", email, "--password", PASSWORD, "--role", "admin"
    )
    return await sign_in(http, email)


async def customers(http: httpx.AsyncClient, count: int) -> list[Account]:
    async def one() -> Account:
        email = f"c-{uuid.uuid4().hex[:10]}@example.com"
        account = {"email": email, "password": PASSWORD, "full_name": "Customer"}
        response = await http.post("/api/v1/auth/register", json=account)
        assert response.status_code == 201, response.text
        return await sign_in(http, email)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def product(http: httpx.AsyncClient, admin: Account, stock: int, **fields: Any) -> str:
    sku = f"SKU-{uuid.uuid4().hex[:10]}"
    body = {"sku": sku, "name": f"Product {sku}", "price_cents": 1000, "stock": stock, **fields}
    response = await http.post("/api/v1/products", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def order_body(product_id: str, quantity: int = 1, name: str = "C") -> dict[str, Any]:
    return {
        "shipping_address": {**ADDRESS, "name": name},
        "items": [{"product_id": product_id, "quantity": quantity}],
    }


async def stocked_product_and_buyers(
    cluster: Cluster, http: httpx.AsyncClient, buyers: int = 3
) -> tuple[str, list[Account], dict[str, Any]]:
    """A product with ample stock, ``buyers`` signed-in customers, and the body of an
    order for one unit of it: what a steady load of orders needs."""
    admin = await staff(cluster, http)
    product_id = await product(http, admin, stock=100_000)
    return product_id, await customers(http, buyers), order_body(product_id)
