"""Unpaid orders are cancelled after the payment timeout, by the scheduled job."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from backroom.db import utcnow
from backroom.orders.expiry import expire_unpaid
from backroom.orders.models import Order
from tests.factories import Actors
from tests.orders.test_lifecycle import _order, _pay, _stock
from tests.orders.test_place import ORDERS


async def _age(app: FastAPI, order_id: str, seconds: int) -> None:
    async with app.state.ctx.sessionmaker() as session:
        await session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(created_at=utcnow() - timedelta(seconds=seconds))
        )
        await session.commit()


async def test_overdue_unpaid_orders_are_cancelled_and_stock_returns(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    overdue, product = await _order(client, staff, buyer, stock=5, qty=2)
    fresh, _ = await _order(client, staff, buyer, stock=5, qty=1)
    paid, _ = await _order(client, staff, buyer, stock=5, qty=1)
    assert (await _pay(client, buyer, paid)).status_code == 200
    timeout = app.state.ctx.settings.order_payment_timeout_seconds
    for order in (overdue, paid):
        await _age(app, order["id"], timeout + 5)
    ctx = app.state.ctx
    assert await expire_unpaid(ctx.sessionmaker, ctx.product_cache, timeout) == 1
    statuses = {}
    for order in (overdue, fresh, paid):
        response = await client.get(f"{ORDERS}/{order['id']}", headers=buyer.headers)
        statuses[order["id"]] = response.json()["status"]
    assert statuses == {
        overdue["id"]: "cancelled",
        fresh["id"]: "pending_payment",
        paid["id"]: "paid",
    }
    assert await _stock(client, staff, product) == 5  # the cached copy was replaced too
    history = await client.get(f"{ORDERS}/{overdue['id']}/history", headers=staff.headers)
    last = history.json()["items"][-1]
    assert last["to_status"] == "cancelled" and last["actor_id"] is None


async def test_instances_racing_to_expire_cancel_each_order_once(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    orders = [await _order(client, staff, buyer, stock=3, qty=3) for _ in range(4)]
    timeout = app.state.ctx.settings.order_payment_timeout_seconds
    for order, _ in orders:
        await _age(app, order["id"], timeout + 1)
    ctx = app.state.ctx
    counts = await asyncio.gather(
        *(expire_unpaid(ctx.sessionmaker, ctx.product_cache, timeout) for _ in range(3))
    )
    assert sum(counts) == 4
    for _, product in orders:
        assert await _stock(client, staff, product) == 3  # returned exactly once


async def test_the_scheduled_task_runs_through_the_broker(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer = await actors.staff(), await actors.customer()
    order, _ = await _order(client, staff, buyer)
    await _age(app, order["id"], app.state.ctx.settings.order_payment_timeout_seconds + 1)
    task = app.state.ctx.jobs.broker.find_task("backroom.expire_orders")
    await task.kiq()
    for _ in range(200):
        status = (await client.get(f"{ORDERS}/{order['id']}", headers=buyer.headers)).json()[
            "status"
        ]
        if status == "cancelled":
            break
        await asyncio.sleep(0.05)
    assert status == "cancelled"
