"""The dispatcher: fan the event log out into deliveries, and find endpoints with
work that is due.

Fan-out reads the events after ``webhook_cursor.last_event_id`` (the outbox
guarantees no event can still appear below an id once it is visible) and, in one
transaction, inserts a first attempt for every active endpoint that subscribed
to the type and existed when the event happened, then moves the cursor with a
compare-and-set. Two dispatchers racing: one moves the cursor, the other's
transaction rolls back, so every (endpoint, event) pair gets exactly one first
attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.db import begin_write, new_id, utcnow
from backroom.events import outbox
from backroom.events.models import Event
from backroom.webhooks.models import (
    DeliveryStatus,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)

FAN_OUT_BATCH = 500
CURSOR_ID = 1


async def any_active(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(WebhookEndpoint.id).where(WebhookEndpoint.is_active).limit(1)
    )
    await session.rollback()
    return found is not None


def subscribed(endpoint: WebhookEndpoint, event: Event) -> bool:
    wanted = "*" in endpoint.events or event.type in endpoint.events
    return wanted and endpoint.created_at <= event.created_at


async def fan_out(session: AsyncSession, limit: int = FAN_OUT_BATCH) -> int:
    """Turn up to ``limit`` events past the cursor into first delivery attempts.
    Commits; returns how many events this call consumed (0: caught up, or another
    dispatcher got there first)."""
    cursor = await session.scalar(
        select(WebhookCursor.last_event_id).where(WebhookCursor.id == CURSOR_ID)
    )
    start = cursor or 0
    events = await outbox.read_after(session, start, limit=limit)
    if not events:
        await session.rollback()
        return 0
    endpoints = list(
        await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active))
    )
    now = utcnow()
    rows = [
        {"id": new_id(), "endpoint_id": endpoint.id, "event_id": event.id,
         "event_type": event.type, "attempt": 1, "status": DeliveryStatus.PENDING.value,
         "due_at": now, "series_started_at": now, "created_at": now}
        for event in events for endpoint in endpoints if subscribed(endpoint, event)
    ]  # fmt: skip
    await begin_write(session)  # ends the read; the compare-and-set below makes it safe
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
    if not await _advance(session, cursor, events[-1].id):
        await session.rollback()
        return 0
    try:
        await session.commit()
    except IntegrityError:  # a racing dispatcher created the cursor row first
        await session.rollback()
        return 0
    return len(events)


async def skip_to_latest(session: AsyncSession) -> None:
    """With no endpoint active there is nothing to fan out: move the cursor past
    every event, so that an endpoint created later doesn't make a dispatcher read
    days of old events first. Writes only when the cursor is behind. Commits."""
    latest = await outbox.last_id(session)  # read before looking for endpoints
    cursor = await session.scalar(
        select(WebhookCursor.last_event_id).where(WebhookCursor.id == CURSOR_ID)
    )
    if (cursor or 0) >= latest or await any_active(session):
        await session.rollback()
        return
    await begin_write(session)
    if not await _advance(session, cursor, latest):
        await session.rollback()
        return
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()


async def _advance(session: AsyncSession, current: int | None, to: int) -> bool:
    if current is None:
        session.add(WebhookCursor(id=CURSOR_ID, last_event_id=to))
        return True
    moved = await session.execute(
        update(WebhookCursor)
        .where(WebhookCursor.id == CURSOR_ID, WebhookCursor.last_event_id == current)
        .values(last_event_id=to)
    )
    return bool(getattr(moved, "rowcount", 0))


async def due_endpoints(session: AsyncSession, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Active endpoints nobody is sending to that have a pending attempt due."""
    stmt = (
        select(WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.due_at <= now,
            WebhookEndpoint.is_active,
            or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now),
        )
        .distinct()
        .limit(limit)
    )
    found = list(await session.scalars(stmt))
    await session.rollback()
    return found


async def claim(
    session: AsyncSession, endpoint_id: uuid.UUID, lease: timedelta
) -> uuid.UUID | None:
    """Become the one sender of this endpoint for ``lease`` (extended as it goes).
    Commits; None if someone else holds it or it is inactive."""
    await begin_write(session)
    now, token = utcnow(), uuid.uuid4()
    result = await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.is_active,
            or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now),
        )
        .values(lease_token=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return token if getattr(result, "rowcount", 0) else None


async def release(session: AsyncSession, endpoint_id: uuid.UUID, token: uuid.UUID) -> None:
    """Let the endpoint go (if it is still ours). Commits."""
    await begin_write(session)
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token)
        .values(lease_token=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
