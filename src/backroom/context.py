"""What the running app holds: built once in the lifespan, reached through ``app.state.ctx``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backroom.catalog.cache import ProductCache
from backroom.config import Settings
from backroom.events.hub import StreamHub
from backroom.events.outbox import Notifier
from backroom.jobs.runtime import JobRuntime
from backroom.ratelimit import RateLimiter
from backroom.users.state import UserStateCache


@dataclass(slots=True)
class AppContext:
    settings: Settings
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    limiter: RateLimiter
    user_states: UserStateCache
    product_cache: ProductCache
    redis: Redis | None
    jobs: JobRuntime
    events: Notifier  # wakes in-process readers of the event log
    streams: StreamHub  # GET /events: the open streams and their view of the log
    migration_head: str | None


async def get_context(request: Request) -> AppContext:
    # async on purpose: FastAPI runs plain-def dependencies in a thread pool.
    ctx: AppContext = request.app.state.ctx
    return ctx
