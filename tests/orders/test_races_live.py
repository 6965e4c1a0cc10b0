"""Business rules under real concurrency: many clients over real HTTP against a
running server (issue 4's numbers), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backroom.auth.passwords import hash_password
from backroom.auth.tokens import issue_access
from backroom.config import Settings
from backroom.db import create_engine, create_sessionmaker, utcnow
from backroom.users.models import Role, User
from tests import live
from tests.orders.test_place import ADDRESS

pytestmark = pytest.mark.live


async def _people(
    server: live.LiveServer, customers: int
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """One staff member and ``customers`` customers, written straight into the
    server's database (one password hash for all: hashing 100 times would only
    slow the test), with access tokens signed by the server's key."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=Path(server.env["BACKROOM_DATA_DIR"]),
        database_url=server.env.get("BACKROOM_DATABASE_URL"),
        secret_key=server.env["BACKROOM_SECRET_KEY"],
    )  # fmt: skip
    engine = create_engine(settings)
    digest = await hash_password(uuid.uuid4().hex)
    users = [User(email=f"race-{uuid.uuid4().hex}@example.com", password_hash=digest,
                  full_name="Racer", role=(Role.STAFF if n == 0 else Role.CUSTOMER).value,
                  is_active=True, tokens_valid_after=utcnow() - timedelta(seconds=5))
             for n in range(customers + 1)]  # fmt: skip
    async with create_sessionmaker(engine)() as session:
        session.add_all(users)
        await session.commit()
        ids = [user.id for user in users]
    await engine.dispose()
    key = server.env["BACKROOM_SECRET_KEY"].encode()
    headers = [{"Authorization": f"Bearer {issue_access(key, i, 900, utcnow())}"} for i in ids]
    return headers[0], headers[1:]


async def _product(http: httpx.AsyncClient, staff: dict[str, str], stock: int) -> dict[str, Any]:
    body = {"sku": f"RACE-{uuid.uuid4().hex[:10]}", "name": "Hot item", "price_cents": 1000,
            "stock": stock}  # fmt: skip
    response = await http.post("/api/v1/products", headers=staff, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _ledger_total(http: httpx.AsyncClient, staff: dict[str, str], product_id: str) -> int:
    total, url = 0, f"/api/v1/products/{product_id}/stock-movements?limit=100"
    while url:
        page = await http.get(url, headers=staff)
        total += sum(m["delta"] for m in page.json()["items"])
        url = page.links.get("next", {}).get("url", "")
    return total


def _client(server: live.LiveServer) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60)


async def test_100_customers_racing_for_10_units_buy_exactly_10(server: live.LiveServer) -> None:
    staff, customers = await _people(server, 100)
    async with _client(server) as http:
        product = await _product(http, staff, stock=10)
        body = {
            "shipping_address": ADDRESS,
            "items": [{"product_id": product["id"], "quantity": 1}],
        }
        responses = await asyncio.gather(
            *(http.post("/api/v1/orders", headers=h, json=body) for h in customers)
        )
        codes = [r.status_code for r in responses]
        assert (codes.count(201), codes.count(409)) == (10, 90), codes
        stock = (await http.get(f"/api/v1/products/{product['id']}", headers=staff)).json()["stock"]
        assert stock == 0 == await _ledger_total(http, staff, product["id"])


async def test_50_redemptions_of_a_coupon_limited_to_5(server: live.LiveServer) -> None:
    staff, customers = await _people(server, 50)
    code = f"FIVE{uuid.uuid4().hex[:6]}"
    async with _client(server) as http:
        product = await _product(http, staff, stock=100)
        coupon = {"code": code, "percent_off": 10, "max_redemptions": 5}
        assert (await http.post("/api/v1/coupons", headers=staff, json=coupon)).status_code == 201
        body = {"shipping_address": ADDRESS, "coupon_code": code.lower(),
                "items": [{"product_id": product["id"], "quantity": 1}]}  # fmt: skip
        responses = await asyncio.gather(
            *(http.post("/api/v1/orders", headers=h, json=body) for h in customers)
        )
        placed = [r.json() for r in responses if r.status_code == 201]
        assert len(placed) == 5 and all(o["discount_cents"] == 100 for o in placed)
        assert all(r.status_code == 422 for r in responses if r.status_code != 201)
        stock = (await http.get(f"/api/v1/products/{product['id']}", headers=staff)).json()["stock"]
        assert stock == 95


async def test_one_idempotency_key_fired_20_times_makes_one_order(server: live.LiveServer) -> None:
    staff, (buyer,) = await _people(server, 1)
    async with _client(server) as http:
        product = await _product(http, staff, stock=50)
        body = {
            "shipping_address": ADDRESS,
            "items": [{"product_id": product["id"], "quantity": 2}],
        }
        headers = {**buyer, "Idempotency-Key": f"race-{uuid.uuid4().hex}"}
        responses = await asyncio.gather(
            *(http.post("/api/v1/orders", headers=headers, json=body) for _ in range(20))
        )
        codes = [r.status_code for r in responses]
        assert set(codes) <= {201, 409} and 201 in codes, codes
        created = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created) == 1  # every 201 is the same order, replayed
        replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
        assert len(replayed) == codes.count(201) - 1
        orders = (await http.get("/api/v1/orders", headers=buyer)).json()["items"]
        assert len(orders) == 1
        stock = (await http.get(f"/api/v1/products/{product['id']}", headers=staff)).json()["stock"]
        assert stock == 48
