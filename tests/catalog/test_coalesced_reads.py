"""Concurrent product reads are coalesced (one MGET, one ``id = ANY`` query per turn
of the event loop): each request must still get exactly its own product, its own
404, and never a copy that a write which returned before it has replaced."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from backroom.config import Settings
from backroom.db import Prepared
from backroom.main import create_app
from tests.catalog.helpers import PRODUCTS, product_payload
from tests.factories import Actors


async def _check(settings: Settings) -> None:
    app = create_app(settings)
    client = AsyncClient(transport=ASGITransport(app=app), base_url="http://t")
    async with LifespanManager(app), client as http:
        staff = await Actors(app, http).staff()
        ids = []
        for i in range(12):
            made = await http.post(
                PRODUCTS, headers=staff.headers, json=product_payload(price_cents=100 + i)
            )
            ids.append(made.json()["id"])
        gone = ids.pop()
        assert (await http.delete(f"{PRODUCTS}/{gone}", headers=staff.headers)).status_code == 204
        missing = str(uuid.uuid4())
        asked = [*ids, *ids, gone, missing] * 3
        statements: list[str] = []
        Prepared.observer = statements.append
        try:
            answers = await asyncio.gather(*(http.get(f"{PRODUCTS}/{pid}") for pid in asked))
        finally:
            Prepared.observer = None
        if not settings.is_sqlite and not settings.cache_enabled:
            # Coalesced for real: far fewer queries than reads.
            assert 0 < len(statements) <= len(asked) // 4, len(statements)
        for pid, answer in zip(asked, answers, strict=True):
            if pid in (gone, missing):
                assert answer.status_code == 404, pid
            else:
                assert answer.status_code == 200 and answer.json()["id"] == pid
        # Reads in flight with a write: every read that starts after the write
        # returned sees the new price, whichever batch it lands in.
        target = f"{PRODUCTS}/{ids[0]}"
        for price in (900, 901, 902):
            patched = await http.patch(target, headers=staff.headers, json={"price_cents": price})
            assert patched.status_code == 200
            after = await asyncio.gather(*(http.get(target) for _ in range(20)))
            assert {r.json()["price_cents"] for r in after} == {price}


async def test_coalesced_reads_with_the_cache(settings: Settings) -> None:
    await _check(settings)


async def test_coalesced_reads_without_the_cache(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(cache="off")
    assert not settings.cache_enabled
    await _check(settings)
