"""Sending one endpoint's deliveries, in event order, under its lease.

A sender claims the endpoint (``dispatch.claim``), then repeatedly takes the
head of its queue (the pending attempt with the lowest event id): marks it
attempted, POSTs it, records the outcome. A failure schedules the next attempt
after an exponential backoff with jitter (or the receiver's ``Retry-After``, if
longer); while the head waits, later events wait behind it, so an endpoint
receives events in order. A series that would run past the retry horizon gives
up: that attempt stays ``failed`` and the endpoint is disabled, with the
reason in its representation.

Every write is fenced on the lease token, so a sender that stalled past its
lease records nothing; the next sender finds the head marked attempted but
unfinished, records it as interrupted and sends it again (at least once; the
``webhook-id`` stays the event id, so receivers can drop the duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backroom.config import Settings
from backroom.db import begin_write, new_id, utcnow
from backroom.events import outbox
from backroom.events.models import Event
from backroom.webhooks import dispatch, sender
from backroom.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

INTERRUPTED = "interrupted: the sender stopped before an answer came"
# A retry due within this many seconds is waited for in place; later ones are left
# to the next dispatcher run, so waiting senders don't hold the runtime's task slots.
HOLD_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Policy:
    timeout: float
    base: float
    max_delay: float
    horizon: timedelta
    allow_private: bool

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            timeout=settings.webhook_timeout_seconds,
            base=settings.webhook_retry_base_seconds,
            max_delay=settings.webhook_retry_max_delay_seconds,
            horizon=timedelta(seconds=settings.webhook_retry_horizon_seconds),
            allow_private=settings.webhook_allow_private_urls,
        )

    @property
    def lease(self) -> timedelta:
        """Long enough for one attempt and its bookkeeping."""
        return timedelta(seconds=2 * self.timeout + 10)


def backoff(attempt: int, policy: Policy, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: base * 2^(attempt-1), capped, with
    "equal jitter" (half fixed, half random); at least what ``Retry-After`` asked."""
    delay: float = min(policy.max_delay, policy.base * 2.0 ** min(attempt - 1, 32))
    delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311  # nosec B311 - jitter, not security
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_delay))
    return delay


@dataclass(frozen=True, slots=True)
class _Attempt:
    delivery_id: uuid.UUID
    event_id: int
    attempt: int
    series_started_at: datetime
    url: str
    secrets: list[str]
    body: bytes


async def run_endpoint(
    sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, policy: Policy,
    endpoint_id: uuid.UUID, stopping: asyncio.Event, budget: int = 200,
) -> bool:  # fmt: skip
    """Send the endpoint's due attempts until none is due (or ``stopping`` is set).
    True if it stopped with work left over."""
    async with sessionmaker() as session:
        token = await dispatch.claim(session, endpoint_id, policy.lease)
    if token is None:
        return False
    try:
        for _ in range(budget):
            if stopping.is_set():
                return False
            async with sessionmaker() as session:
                step = await _start(session, endpoint_id, token, policy)
            if step is None or (isinstance(step, float) and step > HOLD_SECONDS):
                return False
            if isinstance(step, float):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), step)
                continue
            outcome = await sender.send(
                http, url=step.url, secrets=step.secrets, msg_id=str(step.event_id),
                body=step.body, allow_private=policy.allow_private, timeout=policy.timeout,
            )  # fmt: skip
            async with sessionmaker() as session:
                if not await _finish(session, token, step, outcome, policy):
                    return False
        return True
    finally:
        async with sessionmaker() as session:
            await asyncio.shield(dispatch.release(session, endpoint_id, token))


async def _start(
    session: AsyncSession, endpoint_id: uuid.UUID, token: uuid.UUID, policy: Policy
) -> _Attempt | float | None:
    """Mark the head attempted and return it; or the seconds until it is due; or
    None (nothing pending, endpoint inactive, lease lost). Commits."""
    await begin_write(session)
    now = utcnow()
    endpoint = await session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token)
        .execution_options(populate_existing=True)
    )
    head = await session.scalar(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .order_by(WebhookDelivery.event_id, WebhookDelivery.attempt)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if endpoint is None or not endpoint.is_active or head is None:
        await session.rollback()
        return None
    if head.attempted_at is not None:
        head = _retry_interrupted(session, head, now)
    elif head.due_at > now:
        wait = (head.due_at - now).total_seconds()
        await session.rollback()
        return wait
    event = await session.get(Event, head.event_id)
    assert event is not None  # deliveries are deleted with their event
    head.attempted_at = now
    endpoint.lease_until = now + policy.lease
    attempt = _Attempt(
        head.id, head.event_id, head.attempt, head.series_started_at, endpoint.url,
        _secrets(endpoint, now), outbox.body(event),
    )  # fmt: skip
    await session.commit()
    return attempt


def _retry_interrupted(
    session: AsyncSession, head: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    head.status, head.error, head.finished_at = DeliveryStatus.FAILED.value, INTERRUPTED, now
    again = _next(head, now, now)  # our failure, not the receiver's: no backoff
    session.add(again)
    return again


def _next(previous: WebhookDelivery, due: datetime, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        id=new_id(), endpoint_id=previous.endpoint_id, event_id=previous.event_id,
        event_type=previous.event_type, attempt=previous.attempt + 1,
        status=DeliveryStatus.PENDING.value, due_at=due,
        series_started_at=previous.series_started_at, created_at=now,
    )  # fmt: skip


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    valid = endpoint.previous_secret_until is not None and endpoint.previous_secret_until > now
    return [endpoint.secret] + (
        [endpoint.previous_secret] if valid and endpoint.previous_secret else []
    )


async def _finish(
    session: AsyncSession, token: uuid.UUID, attempt: _Attempt, outcome: sender.Outcome,
    policy: Policy,
) -> bool:  # fmt: skip
    """Record the outcome and schedule the retry (or give up and disable the
    endpoint). Commits; False if the lease was lost (nothing recorded)."""
    await begin_write(session)
    now = utcnow()
    delivery = await session.get(WebhookDelivery, attempt.delivery_id, populate_existing=True)
    if delivery is None or not await _extend(session, delivery.endpoint_id, token, policy, now):
        await session.rollback()  # deleted meanwhile, or no longer ours
        return False
    delivery.status = (
        DeliveryStatus.SUCCEEDED if outcome.succeeded else DeliveryStatus.FAILED
    ).value
    delivery.response_status, delivery.error = outcome.response_status, outcome.error
    delivery.finished_at = now
    if not outcome.succeeded:
        due = now + timedelta(seconds=backoff(attempt.attempt, policy, outcome.retry_after))
        if due <= attempt.series_started_at + policy.horizon:
            session.add(_next(delivery, due, now))
        else:
            await _disable(session, delivery.endpoint_id, policy, outcome, now)
    await session.commit()
    return True


async def _extend(
    session: AsyncSession, endpoint_id: uuid.UUID, token: uuid.UUID, policy: Policy,
    now: datetime,
) -> bool:  # fmt: skip
    """Extend the lease if it is still ours (the fence of every sender write)."""
    result = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token)
        .values(lease_until=now + policy.lease)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def _disable(
    session: AsyncSession, endpoint_id: uuid.UUID, policy: Policy, outcome: sender.Outcome,
    now: datetime,
) -> None:  # fmt: skip
    span = _duration(policy.horizon.total_seconds())
    reason = f"a delivery kept failing for {span} (last: {outcome.error}); set is_active to resume"
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(is_active=False, disabled_reason=reason[:500], disabled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
