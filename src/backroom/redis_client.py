"""The Redis connections, when ``BACKROOM_REDIS_URL`` is set: the shared client,
and the options every Redis client here uses (the rate limiter's and the job
queue's have their own connections), and the pauses between reconnections."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# Between two attempts to reconnect (the event wake-up subscription, the job
# listener): 1, 2, 4, then 5 s. The cap bounds how long a recovered Redis stays
# unused: the first job after an outage waits at most this long for its listener.
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 5.0


def retry_once() -> Retry:
    """One immediate retry: enough to replace a pooled connection that Redis closed
    (a restart) without the caller seeing it. redis-py's default (10 retries with
    backoff) would hold every request for seconds while Redis is down."""
    return Retry(NoBackoff(), retries=1)


def options(*, read_timeout: float | None = 1.0) -> dict[str, Any]:
    """Connection options for a client: short timeouts, so that a stalled Redis
    degrades the service instead of hanging it, and one retry."""
    return {
        "socket_timeout": read_timeout,
        "socket_connect_timeout": 1.0,
        "retry": retry_once(),
    }


def create_redis(url: str) -> Redis:
    return Redis.from_url(url, health_check_interval=15, decode_responses=False, **options())


class Throttle:
    """One warning per ``seconds`` while something stays down (the limiter, the
    cache, the scheduler fail on every call; the log must not)."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self._next: float | None = None
        self._skipped = 0

    def due(self, now: float) -> int | None:
        """At ``now`` (``time.monotonic()``): None when a warning went out less than
        ``seconds`` ago, else how many were held back since that one."""
        if self._next is not None and now < self._next:
            self._skipped += 1
            return None
        skipped, self._next, self._skipped = self._skipped, now + self.seconds, 0
        return skipped


class Backoff:
    """Pauses between reconnections, doubling up to ``RECONNECT_MAX_SECONDS``."""

    def __init__(self) -> None:
        self.pause = RECONNECT_FIRST_SECONDS

    def next(self) -> float:
        """The pause to take now; the following one is longer."""
        pause = self.pause
        self.pause = min(pause * 2, RECONNECT_MAX_SECONDS)
        return pause

    def reset(self) -> None:
        """Connected again: the next failure starts from the first pause."""
        self.pause = RECONNECT_FIRST_SECONDS
