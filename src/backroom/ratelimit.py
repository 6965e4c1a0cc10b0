"""Rate limiting on the ``limits`` library: in memory by default, in Redis when configured.

Three limits: every request per client address (ASGI middleware), every
authenticated request per user (in the auth dependency), and failed sign-ins
per account and per address. If Redis is unreachable the limiter fails open
and logs (once per 30 s, not per request), so an outage of the cache does not
take the shop down nor flood the log.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backroom.config import Settings
from backroom.errors import TooManyRequests, problem_response
from backroom.redis_client import Throttle
from backroom.redis_client import options as redis_options

log = logging.getLogger("backroom.ratelimit")

_EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics")
# While Redis is down every request fails open: one warning per this many seconds.
WARN_EVERY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.reset_after))
        return out

    def error(self, detail: str = "Too many requests; slow down.") -> TooManyRequests:
        return TooManyRequests(detail, headers=self.headers())


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        storage: Storage
        if settings.redis_url:
            uri = "async+" + settings.redis_url
            # Short timeouts: a stalled Redis must make the limiter fail open, not hang.
            storage = RedisStorage(
                uri, implementation="redispy", key_prefix="backroom-rl", wrap_exceptions=True,
                **redis_options(),
            )  # fmt: skip
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)
        self.per_address = parse(settings.rate_limit_anonymous)
        self.per_user = parse(settings.rate_limit_user)
        self.login_account = parse(settings.rate_limit_login_account)
        self.login_address = parse(settings.rate_limit_login_address)
        self._outage = Throttle(WARN_EVERY_SECONDS)

    async def hit(self, item: RateLimitItem, *keys: str) -> Decision:
        """Count one request against ``item`` for ``keys``."""
        if not self.enabled:
            return Decision(True, item.amount, item.amount, 0)
        try:
            allowed = await self.strategy.hit(item, *keys)
            return await self._decision(item, keys, allowed)
        except Exception:  # fail open: see module docstring
            self._failing_open("allowing requests")
            return Decision(True, item.amount, item.amount, 0)

    async def check(self, item: RateLimitItem, *keys: str) -> Decision:
        """Whether one more request would be allowed, without counting one."""
        if not self.enabled:
            return Decision(True, item.amount, item.amount, 0)
        try:
            allowed = await self.strategy.test(item, *keys)
            return await self._decision(item, keys, allowed)
        except Exception:
            self._failing_open("allowing requests")
            return Decision(True, item.amount, item.amount, 0)

    async def clear(self, item: RateLimitItem, *keys: str) -> None:
        if not self.enabled:
            return
        try:
            await self.strategy.clear(item, *keys)
        except Exception:
            self._failing_open("a limit not cleared")

    def _failing_open(self, what: str) -> None:
        """Log the outage, at most once per ``WARN_EVERY_SECONDS`` (called in ``except``)."""
        held_back = self._outage.due(time.monotonic())
        if held_back is not None:
            log.warning(
                "Redis unavailable, failing open: rate limits not enforced (%s; %d more "
                "since the last warning)", what, held_back, exc_info=True,
            )  # fmt: skip

    async def _decision(self, item: RateLimitItem, keys: tuple[str, ...], ok: bool) -> Decision:
        stats = await self.strategy.get_window_stats(item, *keys)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(ok, item.amount, max(0, stats.remaining), reset_after)

    async def close(self) -> None:
        """Close the limiter's own Redis connections (limits keeps its client on its bridge)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        closer = getattr(client, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:  # closing a dead connection must not fail shutdown
                log.debug("rate limiter connection close failed", exc_info=True)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimitMiddleware:
    """Per-address limit on every request, with the RateLimit-* headers on the response."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.limiter.enabled
            or scope["path"].startswith(_EXEMPT_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        limiter = self.limiter
        decision = await limiter.hit(limiter.per_address, "addr", client_address(scope))
        if not decision.allowed:
            response = problem_response(decision.error())
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in decision.headers().items():
                    headers.setdefault(key, value)
            await send(message)

        await self.app(scope, receive, with_headers)
