"""A checkout's round trips to the database are counted, so they can't creep back.

Checkout throughput (issue 10) is bound by worker CPU and by how long a hot
product's row lock is held, and each statement costs both: SQLAlchemy and the
driver per statement, and a round trip while the lock is held. The counts
below are what one ``POST /orders`` sends: every statement, plus the ``BEGIN``,
``COMMIT`` and ``ROLLBACK`` of each transaction. (It was 16 before issue 10:
a cart read, a savepoint per line, the outbox lock, a re-read for the response.)
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
            verb = sql.split(None, 1)[0].upper()
            verb = "UPDATE" if verb == "WITH" and " UPDATE " in sql.upper() else verb
            self.sql.append(verb + " " + _table(sql))


def _table(sql: str) -> str:
    words = sql.replace("(", " ").split()
    for keyword in ("UPDATE", "INTO", "FROM"):  # a WITH … UPDATE … INSERT: the UPDATE
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


async def test_a_checkout_of_explicit_items_takes_eight_or_nine_round_trips(
    app: FastAPI, client: AsyncClient, actors: Actors, statements: Statements
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    mug = await create_product(client, staff, price_cents=1_250, stock=50)
    body = {"shipping_address": ADDRESS, "items": [{"product_id": mug["id"], "quantity": 2}]}
    await _checkout(client, user.headers, statements, body)  # the user's state is cached now
    sql = await _checkout(client, user.headers, statements, body)
    shown = "\n" + "\n".join(sql)
    head = ["BEGIN ", "SELECT product", "INSERT customer_order"]
    inserts = ["INSERT event", "INSERT order_event", "INSERT order_line"]
    # The stock is taken last: the row lock is held for the ledger insert and COMMIT,
    # on PostgreSQL in the same statement as the UPDATE.
    if app.state.ctx.settings.is_sqlite:
        assert len(sql) == 9, shown
        assert sql[7:] == ["INSERT stock_movement", "COMMIT "], shown
    else:
        assert len(sql) == 8, shown
        assert sql[7:] == ["COMMIT "], shown
    assert sql[:3] == head and sorted(sql[3:6]) == inserts, shown
    assert sql[6] == "UPDATE product", shown


async def test_each_further_line_adds_one_update(
    app: FastAPI, client: AsyncClient, actors: Actors, statements: Statements
) -> None:
    staff, user = await actors.staff(), await actors.customer()
    products = [await create_product(client, staff, stock=50) for _ in range(3)]
    items = [{"product_id": p["id"], "quantity": 1} for p in products]
    await _checkout(client, user.headers, statements, {"shipping_address": ADDRESS, "items": items})
    sql = await _checkout(
        client, user.headers, statements, {"shipping_address": ADDRESS, "items": items}
    )
    assert sql.count("UPDATE product") == 3
    if app.state.ctx.settings.is_sqlite:
        assert len(sql) == 11, sql
        assert sql.count("INSERT stock_movement") == 1  # the three movements in one statement
    else:
        assert len(sql) == 10, sql  # each movement inside its UPDATE's statement
