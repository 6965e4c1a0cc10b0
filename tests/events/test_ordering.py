"""Readers that resume from "the last id I saw" never skip an event.

On PostgreSQL an id comes from a sequence at insert time, so without care a
writer that took id 10 can commit after one that took id 11, and a reader that
already moved past 11 never sees 10. These tests make commits slow on purpose
(a hook on the engine's commit sleeps between the insert and the COMMIT) and
race writers against readers. The control test shows the skip really happens
when events take their id at insert (PostgreSQL), so the other tests would
catch a regression. ``test_ordering_in_commit.py`` stalls writers *inside*
COMMIT, after their ids were given, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextvars import ContextVar

import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from backroom.db import begin_write, utcnow
from backroom.events import outbox
from backroom.events.models import Event
from backroom.events.types import EventType

# Per writer task: how long its COMMIT is held back, whether it then fails, and
# an event to set once it reached the COMMIT (its ids are taken by then).
DELAY: ContextVar[float] = ContextVar("delay", default=0.0)
FAIL: ContextVar[bool] = ContextVar("fail", default=False)
REACHED: ContextVar[asyncio.Event | None] = ContextVar("reached", default=None)


@pytest.fixture
def slow_commits(app: FastAPI) -> Iterator[None]:
    engine = app.state.ctx.engine.sync_engine

    def stall(_conn: Connection) -> None:
        if (reached := REACHED.get()) is not None:
            reached.set()
        if delay := DELAY.get():
            await_only(asyncio.sleep(delay))

    def fail(_session: Session) -> None:
        # Registered after the outbox's own hook, so it runs after the insert.
        if FAIL.get() and not _session.in_nested_transaction():
            raise RuntimeError("the commit failed")

    event.listen(engine, "commit", stall)
    event.listen(Session, "before_commit", fail)
    yield
    event.remove(Session, "before_commit", fail)
    event.remove(engine, "commit", stall)


async def _follow(app: FastAPI, stop: asyncio.Event, seen: list[int]) -> None:
    """Read "everything after the last id seen" until told to stop, then drain."""
    last = 0
    while True:
        stopping = stop.is_set()
        async with app.state.ctx.sessionmaker() as session:
            batch = await outbox.read_after(session, last, limit=1_000)
        seen.extend(e.id for e in batch)
        last = batch[-1].id if batch else last
        if stopping and not batch:
            return
        await asyncio.sleep(0.001)


async def _committed(app: FastAPI) -> list[int]:
    async with app.state.ctx.sessionmaker() as session:
        return list(await session.scalars(select(Event.id).order_by(Event.id)))


async def _write(app: FastAPI, n: int, *, delay: float = 0.0, locked: bool = True) -> None:
    """One transaction with ``n`` events, through the outbox or (``locked=False``)
    inserted directly with an id from the sequence, as naive code would."""
    DELAY.set(delay)
    async with app.state.ctx.sessionmaker() as session:
        await begin_write(session)
        for i in range(n):
            if locked:
                outbox.record(session, EventType.PRODUCT_UPDATED, {"i": i})
            else:
                values = {"type": "product.updated", "data": {"i": i}, "created_at": utcnow()}
                if not app.state.ctx.settings.is_sqlite:  # a real id now, not at commit
                    values["id"] = func.nextval("event_id_seq")
                await session.execute(insert(Event).values(values))
        await session.commit()


async def _late_then_early(app: FastAPI, *, locked: bool) -> tuple[list[int], list[int]]:
    """Writer A takes its id, then stalls 0.5 s before COMMIT; writer B starts
    after A took its id and commits at once (unless something makes it wait)."""
    seen: list[int] = []
    stop = asyncio.Event()
    reader = asyncio.create_task(_follow(app, stop, seen))
    reached = asyncio.Event()

    async def writer_a() -> None:
        REACHED.set(reached)
        await _write(app, 1, delay=0.5, locked=locked)

    a = asyncio.create_task(writer_a())
    await asyncio.wait_for(reached.wait(), 5)
    await _write(app, 1, locked=locked)
    await a
    stop.set()
    await reader
    return seen, await _committed(app)


async def test_a_late_commit_is_not_skipped(app: FastAPI, slow_commits: None) -> None:
    seen, committed = await _late_then_early(app, locked=True)
    assert len(committed) == 2
    assert seen == committed


async def test_without_the_lock_a_reader_would_skip(app: FastAPI, slow_commits: None) -> None:
    """The control: the same interleaving with plain inserts."""
    seen, committed = await _late_then_early(app, locked=False)
    assert len(committed) == 2
    if app.state.ctx.settings.is_sqlite:
        # One writer at a time: B's insert waited for A's commit, order is kept.
        assert seen == committed
    else:
        assert seen == committed[1:], "the race did not happen; this test proves nothing"


async def test_racing_writers_never_make_a_reader_skip(app: FastAPI, slow_commits: None) -> None:
    rng = random.Random(7)
    in_flight, most = 0, 0

    async def writer(transactions: int) -> None:
        nonlocal in_flight, most
        for _ in range(transactions):
            FAIL.set(rng.random() < 0.15)  # a commit that fails after its insert: a gap
            in_flight += 1
            most = max(most, in_flight)
            try:
                await _write(app, rng.randint(1, 3), delay=rng.random() * 0.01)
            except RuntimeError:
                pass
            finally:
                in_flight -= 1

    stop = asyncio.Event()
    views: list[list[int]] = [[], []]
    readers = [asyncio.create_task(_follow(app, stop, view)) for view in views]
    await asyncio.gather(*(writer(25) for _ in range(6)))
    stop.set()
    await asyncio.gather(*readers)
    committed = await _committed(app)
    assert most > 1, "the writers never overlapped"
    assert len(committed) > 100
    for view in views:
        assert view == committed
