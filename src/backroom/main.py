"""The application factory: routers, middleware, error handlers, lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis
from starlette.middleware.cors import CORSMiddleware

from backroom import __version__, errors, logs, openapi
from backroom.admin import router as admin
from backroom.auth.router import router as auth_router
from backroom.cart.router import router as cart_router
from backroom.catalog.cache import MemoryCache, NoCache, ProductCache, RedisCache
from backroom.catalog.categories_router import router as categories_router
from backroom.catalog.router import router as products_router
from backroom.config import Settings
from backroom.context import AppContext
from backroom.coupons.router import router as coupons_router
from backroom.db import autocommit, create_engine, create_sessionmaker
from backroom.events import fanout, outbox
from backroom.events.hub import StreamHub
from backroom.events.router import router as events_router
from backroom.exports.router import router as exports_router
from backroom.graphql.router import router as graphql_router
from backroom.imports.router import router as imports_router
from backroom.inventory.router import router as inventory_router
from backroom.jobs.runtime import JobRuntime
from backroom.middleware import ConventionsMiddleware
from backroom.migrations_support import head_revision
from backroom.ops import docs
from backroom.ops.router import router as ops_router
from backroom.orders.router import router as orders_router
from backroom.ratelimit import RateLimiter, RateLimitMiddleware
from backroom.readpool import ReadPool
from backroom.redis_client import create_redis
from backroom.reports.router import router as reports_router
from backroom.users.router import router as users_router
from backroom.users.state import UserStateCache
from backroom.webhooks import runner as webhooks
from backroom.webhooks.router import router as webhooks_router

log = logging.getLogger("backroom")
_EXPOSED_HEADERS = [
    "ETag", "Location", "Link", "Retry-After", "X-Request-ID", "Idempotent-Replayed",
    "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
]  # fmt: skip


def _include_api(app: FastAPI) -> None:
    # The routes are added to the app's own list, not through include_router: each
    # included router is one more level FastAPI walks to match every request, which
    # measurably costs on the hottest paths. Hot routers come first: matching is linear.
    for router in (
        products_router, categories_router, inventory_router, cart_router, orders_router,
        coupons_router,
        exports_router, imports_router, reports_router,
        auth_router, users_router, graphql_router, webhooks_router, events_router,
    ):  # fmt: skip
        app.router.routes.extend(router.routes)


def _product_cache(settings: Settings, redis: Redis | None) -> ProductCache:
    if not settings.cache_enabled:
        return NoCache()
    if redis is not None:
        return RedisCache(redis)
    if settings.workers > 1:
        # Per-process caches would serve each other's stale copies: without Redis
        # to share one, several workers go to the database every time.
        log.warning("product cache off: %d workers and no BACKROOM_REDIS_URL", settings.workers)
        return NoCache()
    return MemoryCache()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(settings.log_level)
    engine = create_engine(settings)
    notifier = outbox.Notifier()
    sessionmaker = create_sessionmaker(engine, {outbox.NOTIFIER: notifier})
    limiter = RateLimiter(settings)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    read_engine = autocommit(engine, settings)
    read_pool = ReadPool.attach(engine, settings)
    product_cache = _product_cache(settings, redis)
    job_runtime = JobRuntime(settings, engine, sessionmaker, product_cache)
    # Events committed here reach webhook endpoints without waiting for the next poll.
    notifier.subscribe(lambda _last: webhooks.on_commit(job_runtime))
    streams = StreamHub(settings, sessionmaker, redis)
    notifier.subscribe(streams.poke)  # this process's streams look at the log at once
    publisher = fanout.Publisher(redis) if redis is not None else None
    if publisher is not None:
        notifier.subscribe(publisher.committed)  # and so do the other instances' streams
    ctx = AppContext(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        sessionmaker=sessionmaker,
        limiter=limiter,
        user_states=UserStateCache(read_engine, enabled=settings.cache_enabled),
        product_cache=product_cache,
        redis=redis,
        jobs=job_runtime,
        events=notifier,
        streams=streams,
        migration_head=head_revision(),
    )
    settings.signing_key  # noqa: B018 - fail at start-up, not on the first request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await job_runtime.start(
            receive=settings.runs_jobs, schedule=settings.runs_jobs and settings.scheduler == "on"
        )
        await webhooks.refresh(job_runtime)
        await streams.start()
        # What start-up built (routes, models, compiled SQL) lives as long as the
        # process: take it out of the cyclic collector's sight, so collections under
        # load only walk what requests allocate (shorter pauses, lower tail latency).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await streams.stop()
            await job_runtime.stop()
            if publisher is not None:
                await publisher.close()
            if read_pool is not None:
                await read_pool.close()
            await engine.dispose()
            await limiter.close()
            if redis is not None:
                await redis.aclose()

    app = FastAPI(
        title="backroom",
        version=__version__,
        description="A headless commerce backend.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    openapi.install(app, password_min_length=settings.password_min_length)
    # Matching walks the routes in order: the probes (three), then the API, then the
    # pages, all flat (see _include_api).
    app.router.routes.extend(ops_router.routes)
    _include_api(app)
    docs.install(app)
    admin.install(app)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    if settings.cors_origin_list:  # with none allowed it would only add "Vary: Origin"
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=_EXPOSED_HEADERS,
        )
    app.add_middleware(ConventionsMiddleware, settings=settings)
    return app


def factory() -> FastAPI:
    """Entry point for servers (``uvicorn --factory backroom.main:factory``)."""
    return create_app()
