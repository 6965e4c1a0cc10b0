"""What the streams of one process share: a window onto the end of the event log,
the wake-ups, and the cap on how many streams may be open.

**The log is the truth.** A subscriber is a cursor (the last id it has passed)
and reads "the events after my cursor", page by page, oldest first; nothing
is ever pushed into a per-subscriber queue. A wake-up (a commit in this
process, a Redis message about a commit elsewhere, or the safety-net poll)
only says "look again". So a lost wake-up costs a delay, never an event, and
the order is always the log's.

**One reader per process.** Two hundred subscribers each querying the log on
every commit would be two hundred queries per commit. Instead one task, the
tail reader, reads the new end of the log once and keeps the last
``WINDOW_EVENTS`` events already framed as SSE messages. The window holds
*every* event with ``floor < id <= top``, so a subscriber whose cursor is at
or past ``floor`` is served from memory; one further behind (it reconnected
with an old ``Last-Event-ID``, or couldn't keep up) reads the log itself,
one page at a time, until it is inside the window again. Memory is the window
(bounded) plus one page per subscriber being written: a client that stops
reading just stops its cursor, and the socket's buffers fill up, not ours.

The tail reader runs only while someone is subscribed, and starts afresh at
the newest id when the first one arrives.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import ServerSentEvent

from backroom.config import Settings
from backroom.errors import ServiceUnavailable
from backroom.events import fanout, outbox
from backroom.events.models import Event
from backroom.ops import metrics

log = logging.getLogger("backroom.events")

# Events kept in memory for subscribers that are caught up (an order is ~1-2 KB
# framed), and a bound in bytes, should events be unusually large.
WINDOW_EVENTS = 1000
WINDOW_BYTES = 8 * 1024 * 1024
# Events the tail reader takes from the log per query.
READ_BATCH = 200
_MAX_BACKOFF_SECONDS = 30.0
_STOP_SECONDS = 2.0


def message(event: Event) -> bytes:
    """The SSE message of one event: ``id``, ``event`` (its type), ``data`` (the body).
    The body is one line of JSON; the framing would split any line breaks into
    several ``data:`` lines, as the SSE format requires."""
    data = outbox.body(event).decode()
    return ServerSentEvent(data, id=str(event.id), event=event.type, sep="\n").encode()


@dataclass(frozen=True, slots=True)
class _Framed:
    id: int
    type: str
    message: bytes


@dataclass(eq=False, slots=True)
class Subscriber:
    """One open stream: its wake-up flag (set whenever the window moves)."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)


class StreamHub:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis | None,
    ) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._redis = redis
        self._subscribers: set[Subscriber] = set()
        self._present = asyncio.Event()  # set while anyone is subscribed
        self._poked = asyncio.Event()
        # The window: every event with floor < id <= top, oldest first.
        self._window: list[_Framed] = []
        self._window_bytes = 0
        self._floor = 0
        self._top = 0
        self._fresh = False  # whether the window follows the log (reset after a pause)
        # Subscribers behind the window read the log themselves; they keep half of
        # the pool at most, so a wave of reconnections can't starve other requests.
        self._log_reads = asyncio.Semaphore(max(1, settings.db_pool_size // 2))
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = False
        self.closing = False

    @property
    def open_streams(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._follow_log()))

    def _listen(self) -> None:
        """Subscribe to other processes' wake-ups, from the first stream on (a process
        that never serves one needs no subscription)."""
        if self._redis is not None and not self._listening:
            self._listening = True
            listener = fanout.listen(self._redis, self.poke, lambda: self.closing)
            self._tasks.append(asyncio.create_task(listener))

    async def stop(self) -> None:
        """End every stream (they see ``closing`` at their next step) and the tasks:
        they are asked to stop first, and cancelled only if they don't in time."""
        self.closing = True
        self._present.set()
        self._poked.set()
        for subscriber in self._subscribers:
            subscriber.wake.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=_STOP_SECONDS)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=_STOP_SECONDS)
        self._tasks.clear()

    def poke(self, last_id: int | None = None) -> None:
        """Events committed (up to ``last_id``, if known): the tail reader looks now."""
        if last_id is None or last_id > self._top:
            self._poked.set()

    def open(self) -> Subscriber:
        """A new subscriber, or 503 when this process already serves its maximum."""
        if self.closing or len(self._subscribers) >= self._settings.events_max_streams:
            raise ServiceUnavailable(
                "Too many event streams are open on this instance; retry shortly.",
                headers={"Retry-After": str(max(1, self._settings.events_retry_ms // 1000))},
            )
        self._listen()
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        self._present.set()
        metrics.EVENT_STREAMS.set(len(self._subscribers))
        return subscriber

    def close(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        if not self._subscribers:
            self._present.clear()
        metrics.EVENT_STREAMS.set(len(self._subscribers))

    async def start_cursor(self) -> int:
        """Where a stream without ``Last-Event-ID`` starts: the newest committed id."""
        async with self._log_reads, self._sessionmaker() as session:
            return await outbox.last_id(session)

    async def page(self, cursor: int, types: frozenset[str] | None) -> tuple[list[bytes], int]:
        """The next messages after ``cursor`` (at most a page) and the new cursor.

        The new cursor may pass events of other types, or be where the log ends;
        an empty list means there is nothing new for this subscriber yet."""
        if cursor >= self._floor:
            return self._from_window(cursor, types)
        return await self._from_log(cursor, types)

    def _from_window(self, cursor: int, types: frozenset[str] | None) -> tuple[list[bytes], int]:
        limit = self._settings.events_page_size
        found: list[bytes] = []
        window = self._window
        for index in range(bisect.bisect_right(window, cursor, key=_id), len(window)):
            item = window[index]
            if types is None or item.type in types:
                found.append(item.message)
                if len(found) == limit:
                    return found, item.id
        return found, max(cursor, self._top)

    async def _from_log(self, cursor: int, types: frozenset[str] | None) -> tuple[list[bytes], int]:
        # Every event up to the floor had committed before the floor was set, so a
        # read that starts now sees all of them: a short page ends at the floor.
        floor = self._floor
        limit = self._settings.events_page_size
        async with self._log_reads, self._sessionmaker() as session:
            events = await outbox.read_after(session, cursor, limit=limit, types=types)
        found = [message(event) for event in events]
        if len(events) == limit:
            return found, events[-1].id
        return found, max(events[-1].id if events else cursor, floor)

    async def _follow_log(self) -> None:
        """The tail reader: keep the window at the end of the log while anyone listens."""
        pause = 1.0
        while not self.closing:
            if not self._subscribers:
                self._fresh = False
                await self._present.wait()
                continue
            self._poked.clear()
            try:
                if not self._fresh:
                    await self._restart_window()
                await self._read_new()
                pause = 1.0
            except Exception:
                log.warning("reading the event log failed; retrying in %.0f s", pause)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._poked.wait()  # set at stop
                pause = min(pause * 2, _MAX_BACKOFF_SECONDS)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.events_poll_seconds):
                    await self._poked.wait()

    async def _restart_window(self) -> None:
        async with self._sessionmaker() as session:
            last = await outbox.last_id(session)
        self._window, self._window_bytes = [], 0
        self._floor = self._top = last
        self._fresh = True

    async def _read_new(self) -> None:
        while True:
            async with self._sessionmaker() as session:
                events = await outbox.read_after(session, self._top, limit=READ_BATCH)
            if not events:
                return
            framed = [_Framed(e.id, e.type, message(e)) for e in events]
            self._window.extend(framed)
            self._window_bytes += sum(len(f.message) for f in framed)
            self._top = events[-1].id
            self._trim()
            for subscriber in self._subscribers:
                subscriber.wake.set()
            if len(events) < READ_BATCH:
                return

    def _trim(self) -> None:
        """Drop the oldest events past the window's bounds; the floor follows."""
        window, dropped = self._window, 0
        while dropped < len(window) and (
            len(window) - dropped > WINDOW_EVENTS or self._window_bytes > WINDOW_BYTES
        ):
            self._window_bytes -= len(window[dropped].message)
            dropped += 1
        if dropped:
            self._floor = window[dropped - 1].id
            del window[:dropped]


def _id(item: _Framed) -> int:
    return item.id
