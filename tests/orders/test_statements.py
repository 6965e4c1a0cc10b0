"""A checkout's round trips to the database are counted, so they can't creep back.

Checkout throughput (issue 10) is bound by worker CPU and by how long a hot
product's row lock is held, and each statement costs both: SQLAlchemy and the
driver per statement, and a round trip while the lock is held. The counts
below are what one ``POST /orders`` sends, on both databases: every statement,
plus the ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` of each transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event

from tests.catalog.helpers import create_product
from tests.factories import Actors
from tests.orders.test_place import ADDRESS, ORDERS


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []
        self.on = False

    def note(self, sql: str) -> None:
        if self.on:
            self.sql.append(sql.split(None, 2)[0].upper() + " " + _table(sql))


def _table(sql: str) -> str:
    words = sql.replace("(", " ").split()
    for keyword in ("INTO", "UPDATE", "FROM"):
        if keyword in words:
            return words[words.index(keyword) + 1].strip('"')
    return ""


@pytest.fixture
def statements(app: FastAPI) -> Iterator[Statements]:
    engine = app.state.ctx.engine.sync_engine
    counted = Statements()

    def execute(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: the "begin" below
            counted.note(sql)

    def begin(_conn: Any) -> None:
        counted.note("BEGIN")

    def commit(_conn: Any) -> None:
        counted.note("COMMIT")

    def rollback(_conn: Any) -> None:
        counted.note("ROLLBACK")

    hooks = [("before_cursor_execute", execute), ("begin", begin), ("commit", commit),
             ("rollback", rollback)]  # fmt: skip
    for name, hook in hooks:
        event.listen(engine, name, hook)
    yield counted
    for name, hook in hooks:
        event.remove(engine, name, hook)


async def _checkout(
    client: AsyncClient, headers: dict[str, str], statements: Statements, body: dict[str, Any]
) -> list[str]:
    statements.sql.clear()
    statements.on = True
    response = await client.post(ORDERS, headers=headers, json=body)
    statements.on = False
    assert response.status_code == 201, response.text
    return list(statements.sql)


async def test_a_checkout_of_explicit_items_takes_nine_round_trips(
    client: AsyncClient, actors: Actors, statements: Statements
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    mug = await create_product(client, staff, price_cents=1_250, stock=50)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": mug["id"], "quantity": 2}]}
    await _checkout(client, user.headers, statements, body)  # the user's state is cached now
    sql = await _checkout(client, user.headers, statements, body)
    shown = "\n" + "\n".join(sql)
    assert len(sql) == 9, shown
    assert sql[:3] == ["BEGIN ", "SELECT product", "INSERT customer_order"], shown
    assert sorted(sql[3:5]) == ["INSERT order_event", "INSERT order_line"], shown
    # The stock is taken last: the row lock is held for two inserts and the COMMIT.
    assert sql[5] == "UPDATE product", shown
    assert sorted(sql[6:8]) == ["INSERT event", "INSERT stock_movement"], shown
    assert sql[8] == "COMMIT ", shown


async def test_each_further_line_adds_one_update(
    client: AsyncClient, actors: Actors, statements: Statements
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    products = [await create_product(client, staff, stock=50) for _ in range(3)]
    items = [{"product_id": p["id"], "quantity": 1} for p in products]
    await _checkout(client, user.headers, statements, {"shipping_address": ADDRESS, "items": items})
    sql = await _checkout(
        client, user.headers, statements, {"shipping_address": ADDRESS, "items": items}
    )
    assert len(sql) == 11, sql
    assert sql.count("UPDATE product") == 3
    assert sql.count("INSERT stock_movement") == 1  # all three movements in one statement
