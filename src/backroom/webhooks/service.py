"""Webhook endpoints (admin CRUD, secret rotation) and their delivery records.
Each use case commits once. URLs are checked against the SSRF policy before the
write lock is taken (a DNS lookup must not hold it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.db import begin_write, utcnow
from backroom.errors import Conflict, NotFound, Unprocessable
from backroom.webhooks import signing, urls
from backroom.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from backroom.webhooks.schemas import WebhookCreate, WebhookPatch


async def _check_url(url: str, allow_private: bool) -> None:
    try:
        await urls.resolve(url, allow_private=allow_private)
    except urls.UnsafeUrl as exc:
        raise Unprocessable.field("url", str(exc)) from None


async def create(
    *, session: AsyncSession, data: WebhookCreate, actor_id: uuid.UUID, allow_private: bool
) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret (the caller shows it once). Commits."""
    await _check_url(data.url, allow_private)
    await begin_write(session)
    now = utcnow()
    endpoint = WebhookEndpoint(
        url=data.url, events=list(data.events), is_active=data.is_active,
        secret=signing.new_secret(), created_by=actor_id, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(endpoint)
    await session.commit()
    return endpoint


async def get(*, session: AsyncSession, webhook_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, webhook_id, populate_existing=True)
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


async def list_(
    *, session: AsyncSession, limit: int, after: Sequence[Any] | None
) -> tuple[list[WebhookEndpoint], list[Any] | None]:
    """Newest first, keyset-paged on (created_at, id)."""
    stmt = select(WebhookEndpoint)
    if after is not None:
        stmt = stmt.where(tuple_(WebhookEndpoint.created_at, WebhookEndpoint.id) < tuple_(*after))
    stmt = stmt.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
    rows = list(await session.scalars(stmt.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], [last.created_at.isoformat(), str(last.id)]


async def patch(
    *, session: AsyncSession, webhook_id: uuid.UUID, changes: WebhookPatch, allow_private: bool
) -> WebhookEndpoint:
    """Change url, events or is_active. Re-enabling clears the disabled reason. Commits."""
    values = changes.model_dump(exclude_unset=True)
    if "url" in values:
        await _check_url(values["url"], allow_private)
    await begin_write(session)
    endpoint = await get(session=session, webhook_id=webhook_id)
    for field, value in values.items():
        setattr(endpoint, field, list(value) if field == "events" else value)
    if values.get("is_active"):
        endpoint.disabled_reason, endpoint.disabled_at = None, None
    endpoint.updated_at = utcnow()
    await session.commit()
    return endpoint


async def delete(*, session: AsyncSession, webhook_id: uuid.UUID) -> None:
    """Delete the endpoint and its delivery records; nothing more is sent. Commits."""
    await begin_write(session)
    endpoint = await get(session=session, webhook_id=webhook_id)
    await session.delete(endpoint)
    await session.commit()


async def rotate_secret(
    *, session: AsyncSession, webhook_id: uuid.UUID, previous_valid_seconds: int
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing too for ``previous_valid_seconds``
    (receivers can switch over without dropping a delivery). Commits."""
    await begin_write(session)
    endpoint = await get(session=session, webhook_id=webhook_id)
    now = utcnow()
    if previous_valid_seconds:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + timedelta(seconds=previous_valid_seconds)
    else:
        endpoint.previous_secret, endpoint.previous_secret_until = None, None
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = now
    await session.commit()
    return endpoint


async def deliveries(
    *, session: AsyncSession, webhook_id: uuid.UUID, limit: int, after: Sequence[Any] | None
) -> tuple[list[WebhookDelivery], list[Any] | None]:
    """The endpoint's delivery attempts, newest first, keyset-paged on (created_at, id)."""
    await get(session=session, webhook_id=webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == webhook_id)
    if after is not None:
        stmt = stmt.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(*after))
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    rows = list(await session.scalars(stmt.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], [last.created_at.isoformat(), str(last.id)]


async def delivery(
    *, session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    found = await session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if found is None or found.endpoint_id != webhook_id:
        raise NotFound("No such delivery.")
    return found


async def redeliver(
    *, session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Queue one more attempt of that delivery's event, now, with a fresh retry
    horizon. 409 while the endpoint is disabled or an attempt is already pending.
    Commits."""
    await begin_write(session)
    endpoint = await get(session=session, webhook_id=webhook_id)
    earlier = await delivery(session=session, webhook_id=webhook_id, delivery_id=delivery_id)
    if not endpoint.is_active:
        raise Conflict("The webhook is disabled; enable it first.")
    same_event = (
        WebhookDelivery.endpoint_id == webhook_id,
        WebhookDelivery.event_id == earlier.event_id,
    )
    pending = await session.scalar(
        select(WebhookDelivery.id).where(
            *same_event, WebhookDelivery.status == DeliveryStatus.PENDING.value
        )
    )
    if pending is not None:
        raise Conflict("An attempt to deliver this event is already pending.")
    attempts = await session.scalar(select(func.max(WebhookDelivery.attempt)).where(*same_event))
    now = utcnow()
    again = WebhookDelivery(
        endpoint_id=webhook_id, event_id=earlier.event_id, event_type=earlier.event_type,
        attempt=int(attempts or 0) + 1, status=DeliveryStatus.PENDING.value, due_at=now,
        series_started_at=now, created_at=now,
    )  # fmt: skip
    session.add(again)
    await session.commit()
    return again
