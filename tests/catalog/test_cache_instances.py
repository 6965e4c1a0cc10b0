"""Two instances sharing PostgreSQL and Redis: a write on one is never served stale
by the other, whichever of them cached the product first."""

from __future__ import annotations

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from backroom.catalog.cache import RedisCache
from backroom.config import Settings
from backroom.main import create_app
from tests.catalog.helpers import PRODUCTS, product_payload
from tests.factories import Actors


async def test_no_stale_reads_across_instances(settings: Settings) -> None:
    if settings.redis_url is None:
        pytest.skip("the embedded (SQLite, no Redis) mode is one process by design")
    # Two apps, one configuration (one secret, one database, one Redis): a cluster.
    first, second = create_app(settings), create_app(settings)
    assert isinstance(first.state.ctx.product_cache, RedisCache)
    async with LifespanManager(first), LifespanManager(second):
        a = AsyncClient(transport=ASGITransport(app=first), base_url="http://a")
        b = AsyncClient(transport=ASGITransport(app=second), base_url="http://b")
        async with a, b:
            staff = await Actors(first, a).staff()
            created = await a.post(PRODUCTS, headers=staff.headers, json=product_payload(stock=1))
            url = f"{PRODUCTS}/{created.json()['id']}"
            for i in range(10):
                writer, reader = (a, b) if i % 2 else (b, a)
                assert (await reader.get(url)).status_code == 200  # reader caches it
                price = 500 + i
                patched = await writer.patch(
                    url, headers=staff.headers, json={"price_cents": price}
                )
                assert patched.status_code == 200
                assert (await reader.get(url)).json()["price_cents"] == price
                moved = await writer.post(
                    f"{url}/stock-movements", headers=staff.headers,
                    json={"delta": 1, "reason": "restock"},
                )  # fmt: skip
                assert moved.status_code == 201
                assert (await reader.get(url)).json()["stock"] == 2 + i
            await a.delete(url, headers=staff.headers)
            assert (await b.get(url)).status_code == 404
