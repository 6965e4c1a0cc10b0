"""The streams' shared view of the log, in process on both backends: paging behind
and inside the window, filters, lost wake-ups, Redis wake-ups from another
process, the cap, and the access re-check. (Over HTTP: test_stream_live.py.)"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import update

from backroom.config import Settings
from backroom.db import begin_write, create_sessionmaker, utcnow
from backroom.errors import ServiceUnavailable
from backroom.events import fanout, hub, outbox
from backroom.events.stream import Access
from backroom.events.types import EventType
from backroom.main import create_app
from backroom.redis_client import create_redis
from backroom.users.models import User
from tests.events.helpers import events
from tests.factories import Actors

_FRAME = re.compile(rb"^id: (\d+)\nevent: ([a-z.]+)\ndata: ([^\n]*)\n\n$")
TYPES = [EventType.ORDER_CREATED, EventType.ORDER_PAID, EventType.STOCK_LOW]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(events_page_size=3, events_poll_seconds=0.2, events_max_streams=2)


async def _record(app: FastAPI, count: int, *, notify: bool = True) -> None:
    """Commit ``count`` events of rotating types; ``notify=False`` commits them the way
    another process would: this process's notifier hears nothing."""
    ctx = app.state.ctx
    maker = ctx.sessionmaker if notify else create_sessionmaker(ctx.engine)
    async with maker() as session:
        await begin_write(session)
        for n in range(count):
            outbox.record(session, TYPES[n % 3], {"n": n, "text": "two\nlines"})
        await session.commit()


async def _read(
    streams: hub.StreamHub, after: int, until: int, types: frozenset[str] | None = None
) -> list[tuple[int, str]]:
    """What a subscriber starting after ``after`` receives, up to event ``until``."""
    subscriber = streams.open()
    got: list[tuple[int, str]] = []
    try:
        async with asyncio.timeout(5):
            while not got or got[-1][0] < until:
                subscriber.wake.clear()
                found, after = await streams.page(after, types)
                assert len(found) <= 3  # the page size
                got += [_parse(message) for message in found]
                if not found:
                    await subscriber.wake.wait()
    finally:
        streams.close(subscriber)
    return got


def _parse(message: bytes) -> tuple[int, str]:
    match = _FRAME.match(message)
    assert match is not None, message
    body = orjson.loads(match[3])
    assert body["id"] == match[1].decode() and body["type"] == match[2].decode()
    assert body["data"]["text"] == "two\nlines"  # one data line; the JSON escapes it
    return int(match[1]), match[2].decode()


async def _caught_up(streams: hub.StreamHub, app: FastAPI, subscriber: hub.Subscriber) -> None:
    """Until the tail reader has read the whole log (it wakes subscribers as it goes)."""
    last = int((await events(app))[-1]["id"])
    async with asyncio.timeout(5):
        while streams._top < last:
            subscriber.wake.clear()
            if streams._top < last:
                await subscriber.wake.wait()


async def test_subscribers_behind_the_window_page_through_the_log_then_join_it(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "WINDOW_EVENTS", 5)
    streams: hub.StreamHub = app.state.ctx.streams
    listening = streams.open()  # the tail reader follows the log while someone listens
    for _ in range(500):  # it starts at the end of the log: let it start first
        if streams._fresh:
            break
        await asyncio.sleep(0.01)
    await _record(app, 20)
    await _caught_up(streams, app, listening)
    log = [(int(e["id"]), e["type"]) for e in await events(app)]
    assert streams._floor == log[14][0]  # the window holds the last 5
    assert await _read(streams, 0, log[-1][0]) == log
    paid = frozenset({"order.paid"})
    assert await _read(streams, 0, log[-2][0], paid) == [e for e in log if e[1] == "order.paid"]
    # Events committed while subscribed arrive through the window.
    await _record(app, 4)
    log = [(int(e["id"]), e["type"]) for e in await events(app)]
    assert await _read(streams, log[-6][0], log[-1][0]) == log[-5:]
    streams.close(listening)


async def test_a_lost_wake_up_is_made_good_by_the_poll(app: FastAPI) -> None:
    streams: hub.StreamHub = app.state.ctx.streams
    subscriber = streams.open()
    try:
        start = await streams.start_cursor()
        # The tail reader starts its window at the newest id when the first stream
        # opens; events committed before that are read by the stream from the log,
        # with no wake-up needed. This test is about events after it.
        async with asyncio.timeout(5):
            while not streams._fresh:  # noqa: ASYNC110 (no event for it; a test polls)
                await asyncio.sleep(0.01)
        await _record(app, 2, notify=False)  # nobody is told
        async with asyncio.timeout(2):  # the poll is every 0.2 s here
            await subscriber.wake.wait()
        found, _ = await streams.page(start, None)
    finally:
        streams.close(subscriber)
    assert [_parse(m)[1] for m in found] == ["order.created", "order.paid"]


async def test_redis_wakes_the_streams_for_commits_in_other_processes(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(events_poll_seconds=60)  # only a wake-up can be quick
    if settings.redis_url is None:
        pytest.skip("needs Redis (the PostgreSQL run)")
    app = create_app(settings)
    async with LifespanManager(app):
        streams: hub.StreamHub = app.state.ctx.streams
        subscriber = streams.open()
        try:
            await asyncio.sleep(0.3)  # the subscription to the channel is in place
            start = await streams.start_cursor()
            # "Another process": its own notifier, publishing, as `backroom worker` does.
            redis = create_redis(settings.redis_url)
            notifier = outbox.Notifier()
            publisher = fanout.Publisher(redis)
            notifier.subscribe(publisher.committed)
            maker = create_sessionmaker(app.state.ctx.engine, {outbox.NOTIFIER: notifier})
            async with maker() as session:
                outbox.record(session, EventType.IMPORT_FINISHED, {"text": "two\nlines"})
                await session.commit()
            await publisher.close()
            await redis.aclose()
            async with asyncio.timeout(3):
                await subscriber.wake.wait()
            found, _ = await streams.page(start, None)
        finally:
            streams.close(subscriber)
    assert [_parse(m)[1] for m in found] == ["import.finished"]


async def test_the_cap_refuses_new_streams_until_one_closes(app: FastAPI) -> None:
    streams: hub.StreamHub = app.state.ctx.streams
    first, _second = streams.open(), streams.open()
    with pytest.raises(ServiceUnavailable) as refused:
        streams.open()
    assert refused.value.headers["Retry-After"] == "3"
    streams.close(first)
    streams.open()
    assert streams.open_streams == 2


async def test_access_ends_with_the_token_or_the_staff_role(app: FastAPI, actors: Actors) -> None:
    ctx: Any = app.state.ctx
    staff = await actors.staff()
    now = utcnow()
    access = Access(staff.id, now, now + timedelta(minutes=5), ctx.user_states)
    assert await access.lost() is None
    expired = Access(staff.id, now, now - timedelta(seconds=1), ctx.user_states)
    assert await expired.lost() == "the access token expired; reconnect with a new one"
    async with ctx.sessionmaker() as session:
        await session.execute(update(User).where(User.id == staff.id).values(role="customer"))
        await session.commit()
    ctx.user_states.invalidate(staff.id)
    assert await access.lost() is None  # checked again only every ACCESS_CHECK_SECONDS
    access._next_check = 0.0
    assert await access.lost() == "access revoked"
