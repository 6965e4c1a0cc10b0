"""A steady, bounded load for the fault tests: a few clients sending requests in a
loop (each waits for its answer, then pauses), every outcome kept with its times,
so a test can say what was answered, how, and how long nothing succeeded."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx

# Three clients, each pausing 20 ms between requests: at most ~100 requests a second,
# enough to time a failover to a few tens of milliseconds on a shared 2-core machine.
CLIENTS = 3
PAUSE_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Outcome:
    client: int
    sent: float  # time.monotonic()
    done: float
    status: int  # 0: no response at all (connection error or client timeout)
    retry_after: str | None = None
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def seconds(self) -> float:
        return self.done - self.sent


@dataclass
class Load:
    """``send(client)`` in a loop from ``clients`` tasks while ``running()`` is open."""

    send: Callable[[int], Awaitable[httpx.Response]]
    clients: int = CLIENTS
    pause: float = PAUSE_SECONDS
    outcomes: list[Outcome] = field(default_factory=list)

    async def _loop(self, client: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                response = await self.send(client)
                outcome = Outcome(
                    client, sent, time.monotonic(), response.status_code,
                    response.headers.get("Retry-After"), response.content,
                )  # fmt: skip
            except httpx.TransportError:
                outcome = Outcome(client, sent, time.monotonic(), 0)
            self.outcomes.append(outcome)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.pause)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Load]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self._loop(i, stop)) for i in range(self.clients)]
        try:
            yield self
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    def statuses(self) -> set[int]:
        return {o.status for o in self.outcomes}

    def succeeded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time within [start, end] in which no request succeeded."""
        moments = sorted(o.done for o in self.succeeded() if start < o.done < end)
        edges = [start, *moments, end]
        return max(b - a for a, b in itertools.pairwise(edges))

    def first_success_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` to the first success of a request sent after it."""
        done = [o.done for o in self.succeeded() if o.sent >= moment]
        return min(done) - moment if done else None

    def summary(self) -> str:
        counts: dict[int, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return f"{len(self.outcomes)} requests, by status: {dict(sorted(counts.items()))}"
