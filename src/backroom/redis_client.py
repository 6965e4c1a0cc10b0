"""The shared Redis connection, when ``BACKROOM_REDIS_URL`` is set."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    # Short timeouts: a stalled Redis must degrade the service, not hang it.
    return Redis.from_url(
        url,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        health_check_interval=15,
        decode_responses=False,
    )
