"""Idempotency-Key leases and fencing, over HTTP on both databases.

The holder of a key is made slow by holding its use case at a gate (an
``asyncio.Event``) while other requests with the same key run for real; the
lease's clock is moved forward instead of waiting 90 s for it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import func, select

from backroom.db import utcnow
from backroom.idempotency import service as idempotency
from backroom.idempotency.models import IdempotencyKey
from backroom.orders import service
from backroom.orders.models import Order, Payment
from backroom.payments.provider import PROVIDERS
from tests.catalog.helpers import PRODUCTS, create_product
from tests.factories import Actor, Actors
from tests.orders.test_place import ADDRESS, ORDERS
from tests.test_http_conventions import assert_problem

LEASE = 90  # the default BACKROOM_IDEMPOTENCY_LEASE_SECONDS


class Clock:
    """The idempotency module's clock, moved forward by the test."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(idempotency, "utcnow", moved.now)
    return moved


class Gate:
    """Holds the first caller at ``wait()`` until ``open()``; later callers pass."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()
        self.calls = 0

    async def wait(self) -> None:
        self.calls += 1
        if self.calls == 1:
            self.reached.set()
            await self.opened.wait()

    def open(self) -> None:
        self.opened.set()


async def _setup(client: AsyncClient, actors: Actors) -> tuple[Actor, Actor, dict[str, Any]]:
    staff, buyer = await actors.staff(), await actors.customer()
    product = await create_product(client, staff, stock=10)
    return staff, buyer, product


def _checkout(client: AsyncClient, buyer: Actor, product: dict[str, Any], key: str) -> Any:
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    headers = {**buyer.headers, "Idempotency-Key": key}
    return client.post(ORDERS, headers=headers, json=body)


async def _orders_and_stock(
    client: AsyncClient, staff: Actor, buyer: Actor, product: dict[str, Any]
) -> tuple[int, int]:
    orders = (await client.get(ORDERS, headers=buyer.headers)).json()["items"]
    stock = (await client.get(f"{PRODUCTS}/{product['id']}", headers=staff.headers)).json()
    return len(orders), int(stock["stock"])


async def _count(app: FastAPI, model: Any) -> int:
    async with app.state.ctx.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _assert_replay_of(response: Response, first: Response) -> None:
    assert response.status_code == first.status_code, response.text
    assert response.json() == first.json()
    assert response.headers["idempotent-replayed"] == "true"


async def test_a_slow_holder_past_its_lease_is_fenced_off(
    app: FastAPI, client: AsyncClient, actors: Actors, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    staff, buyer, product = await _setup(client, actors)
    gate, fenced, real_place = Gate(), [], service.place

    async def slow_place(**kwargs: Any) -> service.Placed:
        await gate.wait()  # A: claimed the key, then stalls before its checkout
        try:
            return await real_place(**kwargs)
        except idempotency.LeaseLost:
            fenced.append(True)
            raise

    monkeypatch.setattr(service, "place", slow_place)
    a = asyncio.create_task(_checkout(client, buyer, product, "slow"))
    await gate.reached.wait()
    busy = await _checkout(client, buyer, product, "slow")  # A's lease is live
    assert_problem(busy, 409)
    assert 1 <= int(busy.headers["retry-after"]) <= LEASE
    clock.advance(LEASE + 1)
    b = await _checkout(client, buyer, product, "slow")  # takes the key over, runs anew
    assert b.status_code == 201, b.text
    assert "idempotent-replayed" not in b.headers
    gate.open()
    a_response = await a  # A placed its order in its transaction; the fence rolled it back
    assert fenced == [True]
    _assert_replay_of(a_response, b)
    assert await _orders_and_stock(client, staff, buyer, product) == (1, 9)
    assert await _count(app, Order) == 1
    _assert_replay_of(await _checkout(client, buyer, product, "slow"), b)


async def test_a_holder_that_commits_first_wins_over_a_takeover(
    app: FastAPI, client: AsyncClient, actors: Actors, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    staff, buyer, product = await _setup(client, actors)
    gate, real_place = Gate(), service.place

    async def place_then_stall(**kwargs: Any) -> service.Placed:
        record: Callable[[Any], Awaitable[None]] = kwargs["before_commit"]

        async def stall_after_recording(document: Any) -> None:
            await record(document)  # A's answer is written, its COMMIT not yet run
            await gate.wait()

        return await real_place(**{**kwargs, "before_commit": stall_after_recording})

    monkeypatch.setattr(service, "place", place_then_stall)
    a = asyncio.create_task(_checkout(client, buyer, product, "first"))
    await gate.reached.wait()
    clock.advance(LEASE + 1)
    # B finds the lease expired, but A holds the key's row (PostgreSQL: a row lock;
    # SQLite: the write lock): B waits for A's COMMIT, then sees A's answer.
    b = asyncio.create_task(_checkout(client, buyer, product, "first"))
    await asyncio.sleep(0.2)  # let B reach the lock; the outcome is the same if it hasn't
    gate.open()
    a_response, b_response = await a, await b
    assert a_response.status_code == 201, a_response.text
    _assert_replay_of(b_response, a_response)
    assert await _orders_and_stock(client, staff, buyer, product) == (1, 9)
    assert await _count(app, Order) == 1


def _body_bytes(product: dict[str, Any]) -> bytes:
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product["id"], "quantity": 1}]}
    return json.dumps(body).encode()


async def _leave_claim(
    app: FastAPI, buyer: Actor, key: str, body: bytes, *, lease_expires_at: datetime | None,
    created_at: datetime,
) -> None:  # fmt: skip
    """The row a request leaves when its instance is killed after claiming the key."""
    digest = hashlib.sha256(b"POST " + ORDERS.encode() + b"\n" + body).hexdigest()
    async with app.state.ctx.sessionmaker() as session:
        session.add(
            IdempotencyKey(
                user_id=buyer.id, key=key, request_hash=digest, attempt=1,
                lease_expires_at=lease_expires_at, created_at=created_at,
            )
        )  # fmt: skip
        await session.commit()


async def test_a_crashed_claim_is_taken_over_once_its_lease_expires(
    app: FastAPI, client: AsyncClient, actors: Actors, clock: Clock
) -> None:
    staff, buyer, product = await _setup(client, actors)
    body = _body_bytes(product)
    now = utcnow()
    await _leave_claim(
        app, buyer, "crashed", body, lease_expires_at=now + timedelta(seconds=LEASE),
        created_at=now,
    )  # fmt: skip
    headers = {**buyer.headers, "Idempotency-Key": "crashed", "Content-Type": "application/json"}
    busy = await client.post(ORDERS, headers=headers, content=body)
    assert_problem(busy, 409)
    assert LEASE - 2 <= int(busy.headers["retry-after"]) <= LEASE
    clock.advance(LEASE + 1)
    retried = await client.post(ORDERS, headers=headers, content=body)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    _assert_replay_of(await client.post(ORDERS, headers=headers, content=body), retried)
    assert await _orders_and_stock(client, staff, buyer, product) == (1, 9)
    async with app.state.ctx.sessionmaker() as session:
        row = await session.get(IdempotencyKey, (buyer.id, "crashed"))
        assert row is not None and (row.attempt, row.lease_expires_at) == (2, None)


async def test_a_claim_from_before_leases_is_leased_from_its_creation(
    app: FastAPI, client: AsyncClient, actors: Actors
) -> None:
    staff, buyer, product = await _setup(client, actors)
    body = _body_bytes(product)
    old = utcnow() - timedelta(seconds=LEASE + 1)
    await _leave_claim(app, buyer, "legacy", body, lease_expires_at=None, created_at=old)
    headers = {**buyer.headers, "Idempotency-Key": "legacy", "Content-Type": "application/json"}
    retried = await client.post(ORDERS, headers=headers, content=body)
    assert retried.status_code == 201, retried.text
    assert await _orders_and_stock(client, staff, buyer, product) == (1, 9)


async def test_a_stale_payment_is_rolled_back_and_refunded(
    app: FastAPI, client: AsyncClient, actors: Actors, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _staff, buyer, product = await _setup(client, actors)
    order = (await _checkout(client, buyer, product, "order")).json()
    provider, refunds = PROVIDERS["test"], []
    gate_a, gate_b, real_charge = Gate(), Gate(), provider.charge

    async def slow_charge(**kwargs: Any) -> Any:
        charge = await real_charge(**kwargs)
        await (gate_a.wait() if not gate_a.reached.is_set() else gate_b.wait())
        return charge

    async def refund(*, reference: str, amount_cents: int) -> None:
        refunds.append(reference)

    monkeypatch.setattr(provider, "charge", slow_charge)
    monkeypatch.setattr(provider, "refund", refund)
    url, body = f"{ORDERS}/{order['id']}/pay", {"provider": "test", "token": "tok_visa"}
    headers = {**buyer.headers, "Idempotency-Key": "pay"}
    a = asyncio.create_task(client.post(url, headers=headers, json=body))
    await gate_a.reached.wait()  # A charged the card, then stalls past its lease
    clock.advance(LEASE + 1)
    b = asyncio.create_task(client.post(url, headers=headers, json=body))
    await gate_b.reached.wait()  # B took the key over and charged too
    gate_a.open()
    a_response = await a  # A's transition ran, its fenced record failed: rolled back
    assert_problem(a_response, 409)
    assert len(refunds) == 1
    gate_b.open()
    b_response = await b
    assert b_response.status_code == 200, b_response.text
    assert b_response.json()["status"] == "paid"
    _assert_replay_of(await client.post(url, headers=headers, json=body), b_response)
    assert await _count(app, Payment) == 1
    async with app.state.ctx.sessionmaker() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.reference not in refunds


async def test_release_and_answers_only_touch_their_own_attempt(
    app: FastAPI, client: AsyncClient, actors: Actors, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A stale holder that fails with a 5xx must not release the new holder's claim."""
    staff, buyer, product = await _setup(client, actors)
    gate, real_place = Gate(), service.place

    async def slow_failing_place(**kwargs: Any) -> service.Placed:
        if gate.calls == 0:
            await gate.wait()
            raise ConnectionError("the database went away")  # a 503 for A
        return await real_place(**kwargs)

    monkeypatch.setattr(service, "place", slow_failing_place)
    a = asyncio.create_task(_checkout(client, buyer, product, "own"))
    await gate.reached.wait()
    clock.advance(LEASE + 1)
    b_gate = Gate()

    async def b_place(**kwargs: Any) -> service.Placed:
        await b_gate.wait()
        return await real_place(**kwargs)

    monkeypatch.setattr(service, "place", b_place)
    b = asyncio.create_task(_checkout(client, buyer, product, "own"))
    await b_gate.reached.wait()
    gate.open()
    assert_problem(await a, 503)
    # B still holds the key: a third request is told to wait, not let in.
    assert_problem(await _checkout(client, buyer, product, "own"), 409)
    b_gate.open()
    assert (await b).status_code == 201
    assert await _orders_and_stock(client, staff, buyer, product) == (1, 9)


async def test_an_answer_recorded_before_a_short_stock_is_rolled_back_with_it(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    buyer = await actors.customer()
    product = await create_product(client, staff, stock=0)
    first = await _checkout(client, buyer, product, "short")
    assert_problem(first, 409)  # the 201 recorded before the stock was taken went too
    _assert_replay_of(await _checkout(client, buyer, product, "short"), first)


async def test_an_error_after_the_commit_keeps_the_recorded_answer(
    app: FastAPI, client: AsyncClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    _staff, buyer, product = await _setup(client, actors)

    async def broken_offer(*args: Any) -> None:
        raise RuntimeError("the cache went away after the order committed")

    monkeypatch.setattr(app.state.ctx.product_cache, "offer", broken_offer)
    assert (await _checkout(client, buyer, product, "kept")).status_code == 500
    monkeypatch.undo()
    replay = await _checkout(client, buyer, product, "kept")
    assert replay.status_code == 201, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert await _count(app, Order) == 1  # (the product cache was not told: stock unread)
