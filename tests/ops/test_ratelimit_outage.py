"""Rate limiting while Redis is down: requests are allowed (fail open), and the
outage is logged once per 30 s, not once per request (a busy shop would write
thousands of identical warnings a second)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from backroom import ratelimit
from backroom.config import Settings
from backroom.main import create_app
from backroom.ratelimit import RateLimiter

CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens: every command is refused


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "backroom.ratelimit" and r.levelno == logging.WARNING
    ]


async def test_requests_fail_open_with_one_warning_not_one_per_request(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(redis_url=CLOSED_PORT, rate_limit="on")
    application = create_app(settings)
    caplog.set_level(logging.WARNING, logger="backroom.ratelimit")
    async with LifespanManager(application):
        transport = ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            started = time.perf_counter()
            statuses = {(await http.get("/api/v1/products")).status_code for _ in range(30)}
            elapsed = time.perf_counter() - started
    assert statuses == {200}
    assert elapsed < 10  # no request waits for Redis (one immediate retry, refused)
    [warning] = _warnings(caplog)
    assert warning.startswith("Redis unavailable, failing open")


async def test_the_warning_comes_again_after_30_seconds_of_outage(
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    limiter = RateLimiter(make_settings(redis_url=CLOSED_PORT, rate_limit="on"))
    caplog.set_level(logging.WARNING, logger="backroom.ratelimit")
    try:
        for step in (0.0, 10.0, 29.9):  # within 30 s of the first: quiet
            clock[0] = 1000.0 + step
            for _ in range(3):
                decision = await limiter.hit(limiter.per_address, "addr", "192.0.2.1")
                assert decision.allowed
        assert len(_warnings(caplog)) == 1
        clock[0] = 1030.0
        assert (await limiter.check(limiter.login_account, "login", "a@example.com")).allowed
        await limiter.clear(limiter.login_account, "login", "a@example.com")
        warnings = _warnings(caplog)
        assert len(warnings) == 2
        assert "8 more since the last warning" in warnings[1]
    finally:
        await limiter.close()
