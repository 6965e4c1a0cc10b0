"""Every event type is recorded with the change it reports, and only then."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from backroom.db import utcnow
from backroom.events import outbox
from backroom.events.models import Event
from backroom.events.types import EventType
from tests.catalog.helpers import PRODUCTS, create_product
from tests.events.helpers import events, last_id, types_of
from tests.factories import Actors
from tests.imports.helpers import HEADER, run
from tests.orders.test_place import ADDRESS, ORDERS
from tests.test_http_conventions import assert_problem

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_product_events_carry_the_representation(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    product = await create_product(client, staff, stock=3)
    url = f"{PRODUCTS}/{product['id']}"
    body = {"sku": product["sku"], "name": "Renamed", "price_cents": 5}
    assert (await client.put(url, headers=staff.headers, json=body)).status_code == 200
    patched = await client.patch(url, headers=staff.headers, json={"price_cents": 7})
    assert patched.status_code == 200
    assert (await client.delete(url, headers=staff.headers)).status_code == 204
    seen = await events(app)
    assert [e["type"] for e in seen] == [
        "product.created", "product.updated", "product.updated", "product.deleted",
    ]  # fmt: skip
    assert seen[0]["data"] == product  # exactly what the API answered
    assert seen[1]["data"]["name"] == "Renamed"
    assert seen[2]["data"] == patched.json()
    assert seen[3]["data"]["id"] == product["id"]
    assert seen[3]["data"]["is_active"] is False
    ids = [int(e["id"]) for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert all(RFC3339_UTC.match(e["timestamp"]) for e in seen)
    assert all(isinstance(e["id"], str) for e in seen)


async def test_the_order_lifecycle_records_an_event_per_transition(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=100)
    start = await last_id(app)
    first = await _place(client, buyer.headers, product["id"], 1)
    pay = {"provider": "test", "token": "tok_visa"}
    paid = await client.post(f"{ORDERS}/{first['id']}/pay", headers=buyer.headers, json=pay)
    assert paid.status_code == 200
    for step in ("ship", "deliver", "refund"):
        response = await client.post(f"{ORDERS}/{first['id']}/{step}", headers=staff.headers)
        assert response.status_code == 200, response.text
    second = await _place(client, buyer.headers, product["id"], 2)
    cancelled = await client.post(f"{ORDERS}/{second['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200
    seen = await events(app, start)
    assert [(e["type"], e["data"]["id"]) for e in seen] == [
        ("order.created", first["id"]), ("order.paid", first["id"]),
        ("order.shipped", first["id"]), ("order.delivered", first["id"]),
        ("order.refunded", first["id"]), ("order.created", second["id"]),
        ("order.cancelled", second["id"]),
    ]  # fmt: skip
    assert seen[0]["data"] == first  # the order as its buyer saw it
    assert seen[-1]["data"] == cancelled.json()
    assert [e["data"]["status"] for e in seen[1:5]] == ["paid", "shipped", "delivered", "refunded"]


async def test_stock_low_when_stock_crosses_the_threshold(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=8)  # threshold: 5 (the default)
    moves = f"{PRODUCTS}/{product['id']}/stock-movements"
    start = await last_id(app)
    await _place(client, buyer.headers, product["id"], 2)  # 8 -> 6: not low yet
    assert await types_of(app, start) == ["order.created"]
    await _place(client, buyer.headers, product["id"], 1)  # 6 -> 5: crosses
    await _place(client, buyer.headers, product["id"], 1)  # 5 -> 4: already low
    restock = {"delta": 10, "reason": "restock"}
    assert (await client.post(moves, headers=staff.headers, json=restock)).status_code == 201
    damage = {"delta": -14, "reason": "damage"}  # 14 -> 0: crosses again
    assert (await client.post(moves, headers=staff.headers, json=damage)).status_code == 201
    low = await events(app, start, {"stock.low"})
    assert [(e["data"]["stock"], e["data"]["reason"]) for e in low] == [(5, "order"), (0, "damage")]
    assert low[0]["data"] == {
        "product_id": product["id"], "sku": product["sku"], "stock": 5, "threshold": 5,
        "reason": "order",
    }  # fmt: skip


async def test_a_rolled_back_checkout_records_nothing(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    plenty = await create_product(client, staff, stock=6)
    scarce = await create_product(client, staff, stock=1)
    start = await last_id(app)
    body = {
        "shipping_address": ADDRESS,
        # the first line alone would take `plenty` to 5 (stock.low): it must vanish too
        "items": [{"product_id": plenty["id"], "quantity": 1},
                  {"product_id": scarce["id"], "quantity": 2}],
    }  # fmt: skip
    assert_problem(await client.post(ORDERS, headers=buyer.headers, json=body), 409)
    duplicate = {"sku": plenty["sku"], "name": "Again", "price_cents": 1}
    assert_problem(await client.post(PRODUCTS, headers=staff.headers, json=duplicate), 409)
    assert await events(app, start) == []
    await _place(client, buyer.headers, plenty["id"], 1)  # the same line alone succeeds
    # The order first, then the stock it took (written before the stock is taken).
    assert await types_of(app, start) == ["order.created", "stock.low"]


async def test_an_event_recorded_in_a_rolled_back_savepoint_is_dropped(app: FastAPI) -> None:
    async with app.state.ctx.sessionmaker() as session:
        outbox.record(session, EventType.PRODUCT_UPDATED, {"n": 1})
        savepoint = await session.begin_nested()
        outbox.record(session, EventType.PRODUCT_UPDATED, {"n": 2})
        await savepoint.rollback()
        async with session.begin_nested():
            outbox.record(session, EventType.PRODUCT_UPDATED, {"n": 3})
        await session.commit()
        outbox.record(session, EventType.PRODUCT_UPDATED, {"n": 4})
        await session.rollback()
    assert [e["data"] for e in await events(app)] == [{"n": 1}, {"n": 3}]


async def test_import_finished_is_recorded_once_with_the_counts(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    job = await run(client, staff, HEADER + "IMP-1,One,,100,3,,true\r\nIMP-2,,,x,1,,true\r\n")
    finished = await events(app, 0, {"import.finished"})
    assert len(finished) == 1
    data = finished[0]["data"]
    assert data["id"] == job["id"] and data["status"] == "succeeded"
    assert (data["rows_created"], data["rows_failed"]) == (1, 1)
    assert "errors" not in data
    assert data == {k: v for k, v in job.items() if k != "errors"}


async def test_the_notifier_hears_commits_with_events(app: FastAPI) -> None:
    notifier: outbox.Notifier = app.state.ctx.events
    heard: list[int | None] = []
    unsubscribe = notifier.subscribe(heard.append)
    try:
        async with app.state.ctx.sessionmaker() as session:
            outbox.record(session, EventType.PRODUCT_CREATED, {"n": 1})
            outbox.record(session, EventType.PRODUCT_UPDATED, {"n": 2})
            woken = asyncio.create_task(notifier.wait())
            await asyncio.sleep(0)
            await session.commit()
            await asyncio.wait_for(woken, 1)
            await session.commit()  # nothing recorded: nothing announced
            await session.rollback()
    finally:
        unsubscribe()
    # One announcement per commit that wrote events, without an id: the writer
    # doesn't learn its ids (PostgreSQL gives them inside COMMIT).
    assert heard == [None]
    assert await last_id(app) > 0


async def test_the_periodic_purge_keeps_the_retention_window(app: FastAPI) -> None:
    async with app.state.ctx.sessionmaker() as session:
        for n in range(3):
            outbox.record(session, EventType.PRODUCT_UPDATED, {"n": n})
        await session.commit()
        old = utcnow() - timedelta(days=7, minutes=1)
        await session.execute(update(Event).where(Event.id <= 2).values(created_at=old))
        await session.commit()
    purge = app.state.ctx.jobs.broker.find_task("backroom.purge")
    await purge.kiq()  # through the broker, as the scheduler sends it
    for _ in range(200):
        if len(await events(app)) == 1:
            break
        await asyncio.sleep(0.05)
    assert [e["data"] for e in await events(app)] == [{"n": 2}]


async def _place(client: AsyncClient, headers: dict[str, str], product_id: str, qty: int) -> dict:  # type: ignore[type-arg]
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product_id, "quantity": qty}]}
    response = await client.post(ORDERS, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())
