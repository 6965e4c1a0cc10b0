"""Wake-ups across processes: "events committed", over Redis pub/sub.

Every process that commits events (web instances, ``backroom worker``) publishes
a message after such commits (no id: on PostgreSQL a writer never learns its
event ids, they are given inside COMMIT); every web instance listens and wakes its
stream readers. A message is only a hint to look at the log now: pub/sub
delivers at most once and keeps nothing for a listener that is reconnecting,
so readers also poll the log (``BACKROOM_EVENTS_POLL_SECONDS``) and a lost
message only delays them until then. Ordering never comes from here either:
readers always read the log after their own last id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis

from backroom.redis_client import Backoff

log = logging.getLogger("backroom.events")

# How long one read of the subscription waits before looping (and checking the
# connection's health); not a delay: a message is handled as soon as it arrives.
_LISTEN_SLICE_SECONDS = 0.5


def channel(redis: Redis) -> str:
    """The channel name. Pub/sub ignores the database number, so two deployments
    sharing a Redis server on different databases must not hear each other."""
    db = redis.connection_pool.connection_kwargs.get("db", 0)
    return f"backroom:{db}:events"


class Publisher:
    """A ``Notifier`` listener that publishes "events committed".

    It is called inside the commit, so it only notes that a message is due and
    makes sure one task is sending; commits made meanwhile merge into the next
    message."""

    MESSAGE = "committed"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._channel = channel(redis)
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def committed(self, _last_id: int | None = None) -> None:
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._pending:
            self._pending = False
            try:
                await self._redis.publish(self._channel, self.MESSAGE)
                self._failing = False
            except Exception:
                # Readers elsewhere find the events with their next poll of the log.
                if not self._failing:
                    log.warning("could not publish an event wake-up", exc_info=True)
                self._failing = True

    async def close(self) -> None:
        """Let the last message go out (bounded), then stop."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 2.0)


async def listen(
    redis: Redis, wake: Callable[[int | None], None], stopped: Callable[[], bool]
) -> None:
    """Call ``wake(None)`` for each message (``wake(n)`` for a message that names
    an id ``n``), until ``stopped()``. Reconnects with a backoff (at most 5 s, so
    wake-ups resume soon after Redis does); after each (re)subscription it wakes
    once with ``None``, since messages published while it wasn't subscribed are gone.

    It stops by looking at ``stopped()`` between short reads rather than by being
    cancelled: a cancellation that lands as a read times out can be taken for
    the timeout (Python 3.11's ``asyncio.timeout``), and the loop would go on."""
    backoff = Backoff()
    name = channel(redis)
    while not stopped():
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(name)
                backoff.reset()
                wake(None)
                while not stopped():
                    message = await pubsub.get_message(timeout=_LISTEN_SLICE_SECONDS)
                    if message is not None:
                        wake(_id_of(message.get("data")))
        except asyncio.CancelledError:
            raise
        except Exception:
            pause = backoff.next()
            log.warning("event wake-up subscription failed; retrying in %.0f s", pause)
            await asyncio.sleep(pause)


def _id_of(data: object) -> int | None:
    try:
        return int(data) if isinstance(data, (bytes, str)) else None
    except ValueError:
        return None  # no id (what Publisher sends): just look at the log
