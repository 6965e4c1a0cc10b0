"""Ids still come out in commit order when a writer stalls *inside* COMMIT.

On PostgreSQL an event's id is given inside COMMIT (a deferred trigger takes
the outbox lock and renumbers the row, migration 0011). A test trigger that
fires after that one sleeps (and optionally fails) while the lock is held, on
the writer's own request (``SET LOCAL backroom.test_stall``). The tests show:
another writer's whole transaction runs meanwhile, only its COMMIT waits; and
readers following "after the last id seen" never skip an event, even with
commits failing after their ids were given (gaps). SQLite has no such window
(one writer at a time): ``test_ordering.py`` covers it there.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from backroom import migrations
from backroom.db import begin_write, utcnow
from backroom.events import outbox
from backroom.events.models import Event
from backroom.events.types import EventType
from tests.events.test_ordering import _committed, _follow

STALL = """
CREATE FUNCTION test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(
        coalesce(nullif(current_setting('backroom.test_stall', true), ''), '0')::float8
    );
    IF current_setting('backroom.test_fail', true) = 'on' THEN
        RAISE EXCEPTION 'the commit failed';
    END IF;
    RETURN NULL;
END
$$
"""
# Deferred triggers on the same row fire in name order: after event_assign_id.
TRIGGER = """
CREATE CONSTRAINT TRIGGER zz_test_stall AFTER INSERT ON event
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_stall()
"""
HOLDERS = """
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
AND ((classid::bigint << 32) | objid::bigint) = :key
"""


@pytest.fixture
async def stalls(app: FastAPI) -> AsyncIterator[None]:
    if app.state.ctx.settings.is_sqlite:
        pytest.skip("SQLite gives ids at insert, one writer at a time")
    async with app.state.ctx.engine.begin() as conn:
        await conn.execute(text(STALL))
        await conn.execute(text(TRIGGER))
    yield
    async with app.state.ctx.engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER zz_test_stall ON event"))
        await conn.execute(text("DROP FUNCTION test_stall()"))


async def _write(app: FastAPI, n: int, *, stall: float = 0.0, fail: bool = False) -> None:
    async with app.state.ctx.sessionmaker() as session:
        await begin_write(session)
        for i in range(n):
            outbox.record(session, EventType.PRODUCT_UPDATED, {"i": i})
        await session.execute(
            text("SELECT set_config('backroom.test_stall', :s, true), "
                 "set_config('backroom.test_fail', :f, true)"),
            {"s": str(stall), "f": "on" if fail else "off"},
        )  # fmt: skip
        await session.commit()


async def _lock_held(app: FastAPI) -> bool:
    async with app.state.ctx.engine.connect() as conn:
        key = outbox.LOCK_KEY
        return bool(await conn.scalar(text(HOLDERS), {"key": key}))


async def test_a_writer_stalled_inside_commit_is_not_skipped(app: FastAPI, stalls: None) -> None:
    seen: list[int] = []
    stop = asyncio.Event()
    reader = asyncio.create_task(_follow(app, stop, seen))
    a = asyncio.create_task(_write(app, 2, stall=1.0))
    deadline = time.monotonic() + 5
    while not await _lock_held(app):  # A is inside COMMIT: its ids are given
        assert time.monotonic() < deadline, "writer A never reached its COMMIT"
        await asyncio.sleep(0.01)
    async with app.state.ctx.sessionmaker() as session:
        await begin_write(session)
        started = time.monotonic()
        # B's event row (placeholder id) goes in at once: only COMMIT waits.
        values = {"type": "product.updated", "data": {"b": 1}, "created_at": utcnow()}
        await session.execute(insert(Event).values(values))
        assert time.monotonic() - started < 0.5
        assert not a.done()
        await session.commit()
    # B's COMMIT waited for A's: once it returns, A's events are visible.
    assert len(await _committed(app)) == 3
    await a
    stop.set()
    await reader
    committed = await _committed(app)
    assert len(committed) == 3
    assert seen == committed
    async with app.state.ctx.sessionmaker() as session:
        rows = (await session.execute(select(Event.id, Event.data).order_by(Event.id))).all()
    # A's two events first, in the order recorded; then B's.
    assert [r.data for r in rows] == [{"i": 0}, {"i": 1}, {"b": 1}]


async def test_a_commit_failing_after_its_ids_leaves_a_gap(app: FastAPI, stalls: None) -> None:
    await _write(app, 1)
    with pytest.raises(DBAPIError, match="the commit failed"):
        await _write(app, 2, fail=True)
    await _write(app, 1)
    committed = await _committed(app)
    assert len(committed) == 2
    # The failed commit had taken an id (then failed, in its test trigger): a gap.
    assert committed[1] - committed[0] >= 2
    assert all(i > 0 for i in committed)


async def test_writers_stalling_in_commit_never_make_a_reader_skip(
    app: FastAPI, stalls: None
) -> None:
    rng = random.Random(11)
    in_commit = 0
    overlapped = False

    async def writer(transactions: int) -> None:
        nonlocal in_commit, overlapped
        for _ in range(transactions):
            in_commit += 1
            overlapped = overlapped or in_commit > 1
            try:
                await _write(
                    app, rng.randint(1, 3), stall=rng.random() * 0.01, fail=rng.random() < 0.15
                )
            except DBAPIError:
                pass
            finally:
                in_commit -= 1

    stop = asyncio.Event()
    views: list[list[int]] = [[], []]
    readers = [asyncio.create_task(_follow(app, stop, view)) for view in views]
    await asyncio.gather(*(writer(25) for _ in range(6)))
    stop.set()
    await asyncio.gather(*readers)
    committed = await _committed(app)
    assert overlapped, "the writers never overlapped"
    assert len(committed) > 100
    for view in views:
        assert view == committed


def test_the_trigger_takes_the_outbox_lock() -> None:
    # Migration 0011 spells the key out in its SQL; it must be the outbox's.
    path = next(Path(migrations.__file__).parent.glob("versions/*_0011_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.LOCK_KEY == outbox.LOCK_KEY
    assert f"pg_advisory_xact_lock({outbox.LOCK_KEY})" in path.read_text()
