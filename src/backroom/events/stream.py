"""One ``GET /events`` stream: the messages of one subscriber, framed as SSE by
sse-starlette (heartbeats, disconnects, server shutdown, a send timeout).

The body is pulled, not pushed: the next page of the log is read only once the
previous one has been written to the socket, so a slow client holds one page
at most. A stream ends by itself (cleanly, so the client reconnects with
``Last-Event-ID``) when its access token expires, when the user loses access,
when the database fails, or when the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from backroom.config import Settings
from backroom.db import utcnow
from backroom.events.hub import StreamHub, Subscriber
from backroom.users.models import Role
from backroom.users.state import UserStateCache

log = logging.getLogger("backroom.events")

# How often a stream re-checks its user (cached 30 s): a deactivated or demoted
# user loses the stream within the contract's 60 s.
ACCESS_CHECK_SECONDS = 10.0
# The longest a subscriber sleeps between looks, so it notices a server shutdown.
_NAP_SECONDS = 1.0
# After a shutdown is signalled, time for streams to end cleanly before they are
# cancelled (less than the server's own graceful timeout).
SHUTDOWN_GRACE_SECONDS = 3.0
HEADERS = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}


@dataclass(slots=True)
class Access:
    """What let the stream open, re-checked while it runs."""

    user_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    states: UserStateCache
    _next_check: float = field(default=0.0)

    async def lost(self) -> str | None:
        """Why the stream must end now, or None."""
        if utcnow() >= self.expires_at:
            return "the access token expired; reconnect with a new one"
        if time.monotonic() < self._next_check:
            return None
        self._next_check = time.monotonic() + ACCESS_CHECK_SECONDS
        state = await self.states.get(self.user_id)
        if (
            state is None
            or not state.is_active
            or not state.role.at_least(Role.STAFF)
            or self.issued_at < state.tokens_valid_after
        ):
            return "access revoked"
        return None


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription: where it starts and what it wants."""

    after: int
    types: frozenset[str] | None


def comment(text: str) -> bytes:
    return ServerSentEvent(comment=text, sep="\n").encode()


async def messages(
    hub: StreamHub,
    subscriber: Subscriber,
    subscription: Subscription,
    access: Access,
    *,
    settings: Settings,
    shutdown: anyio.Event,
) -> AsyncIterator[bytes]:
    """The stream's body: the ``retry`` hint, then pages of events as they commit."""
    yield ServerSentEvent(retry=settings.events_retry_ms, sep="\n").encode()
    cursor = subscription.after
    while not (hub.closing or shutdown.is_set()):
        reason = await access.lost()
        if reason is not None:
            yield comment(reason)
            return
        subscriber.wake.clear()  # before looking: a wake-up from now on is not missed
        try:
            found, cursor = await hub.page(cursor, subscription.types)
        except (SQLAlchemyError, OSError, TimeoutError):
            log.warning("an event stream ended: the log could not be read", exc_info=True)
            yield comment("the event log is unavailable; reconnect later")
            return
        if found:
            yield b"".join(found)
            continue
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_NAP_SECONDS):
                await subscriber.wake.wait()


class EventStream(EventSourceResponse):
    """sse-starlette's response, which also gives its subscriber slot back however it
    ends, and ends quietly when a client stopped reading for the send timeout."""

    def __init__(
        self,
        hub: StreamHub,
        subscriber: Subscriber,
        subscription: Subscription,
        access: Access,
        settings: Settings,
    ) -> None:
        shutdown = anyio.Event()
        body = messages(hub, subscriber, subscription, access, settings=settings, shutdown=shutdown)
        super().__init__(
            body,
            headers=HEADERS,
            ping=settings.events_heartbeat_seconds,
            ping_message_factory=lambda: ServerSentEvent(comment="heartbeat", sep="\n"),
            sep="\n",
            send_timeout=settings.events_send_timeout_seconds,
            shutdown_event=shutdown,
            shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
        )
        self._hub = hub
        self._subscriber = subscriber

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            # The client reconnects with Last-Event-ID and loses nothing.
            log.info("closed an event stream whose client stopped reading")
        finally:
            self._hub.close(self._subscriber)
