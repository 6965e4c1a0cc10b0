"""The dispatcher's pieces on their own: fan-out under a race, backoff bounds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select

from backroom.db import create_engine, create_sessionmaker
from backroom.events import outbox
from backroom.events.types import EventType
from backroom.webhooks import dispatch
from backroom.webhooks.delivery import Policy, backoff
from backroom.webhooks.models import WebhookDelivery
from backroom.webhooks.sender import _retry_after
from tests.factories import Actors
from tests.webhooks.helpers import create_hook
from tests.webhooks.receiver import Receiver


async def test_racing_dispatchers_fan_each_event_out_once(
    app: FastAPI, client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin = await actors.admin()
    await create_hook(client, admin, receiver.url, ["stock.low"])
    await create_hook(client, admin, receiver.url, ["*"])
    engine = create_engine(app.state.ctx.settings)  # no notifier: nothing wakes up
    try:
        maker = create_sessionmaker(engine)
        for n in range(120):
            async with maker() as session:
                outbox.record(session, EventType.STOCK_LOW, {"n": n})
                await session.commit()

        async def dispatcher() -> int:
            consumed = 0
            for _ in range(50):
                async with maker() as session:
                    consumed += await dispatch.fan_out(session, limit=7)
                await asyncio.sleep(0)
            return consumed

        consumed = await asyncio.gather(*(dispatcher() for _ in range(4)))
        async with maker() as session:
            firsts = await session.execute(
                select(WebhookDelivery.event_id, func.count())
                .where(WebhookDelivery.attempt == 1)
                .group_by(WebhookDelivery.event_id)
            )
            counts = {event_id: n for event_id, n in firsts}
    finally:
        await engine.dispose()
    assert len(counts) == 120 and set(counts.values()) == {2}  # two endpoints, once each
    assert sum(consumed) <= 120  # what the app's own periodic run took is not counted


def test_backoff_doubles_with_jitter_and_honours_retry_after() -> None:
    policy = Policy(timeout=10, base=5, max_delay=3600, horizon=timedelta(days=3),
                    allow_private=False)  # fmt: skip
    for attempt, full in ((1, 5), (2, 10), (3, 20), (8, 640), (30, 3600)):
        delays = [backoff(attempt, policy) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 10  # jittered, not fixed
    assert backoff(1, policy, retry_after=120) == 120
    assert backoff(1, policy, retry_after=1) <= 5  # never sooner than the backoff
    assert backoff(1, policy, retry_after=10**9) == 3600  # capped


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert _retry_after("7") == 7
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (_retry_after(later) or 0) <= 30
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert _retry_after(earlier) == 0
