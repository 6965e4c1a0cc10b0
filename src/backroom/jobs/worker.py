"""``backroom worker``: a process that only runs jobs and the scheduler.

With Redis it consumes the job stream (any number of workers share it through
one consumer group). Without Redis there is no queue to share, so the worker
finds queued jobs through the periodic sweep of the job table instead.
SIGTERM/SIGINT stop it gracefully: no new jobs, running ones get a bounded time
to finish their batch, and an unfinished job is handed back at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from backroom import logs
from backroom.catalog.cache import NoCache, ProductCache, RedisCache
from backroom.config import Settings
from backroom.db import create_engine, create_sessionmaker
from backroom.events import fanout, outbox
from backroom.jobs.runtime import JobRuntime
from backroom.redis_client import create_redis
from backroom.webhooks import runner as webhooks

log = logging.getLogger("backroom.worker")


async def run_worker(settings: Settings) -> None:
    logs.configure(settings.log_level)
    engine = create_engine(settings)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    cache: ProductCache = RedisCache(redis) if redis and settings.cache_enabled else NoCache()
    notifier = outbox.Notifier()
    sessionmaker = create_sessionmaker(engine, {outbox.NOTIFIER: notifier})
    runtime = JobRuntime(settings, engine, sessionmaker, cache)
    notifier.subscribe(lambda _last: webhooks.on_commit(runtime))
    # Events committed by jobs wake the web instances' streams (GET /events).
    publisher = fanout.Publisher(redis) if redis is not None else None
    if publisher is not None:
        notifier.subscribe(publisher.committed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start(receive=True, schedule=settings.scheduler == "on")
    await webhooks.refresh(runtime)
    log.info("worker started (%s)", "redis" if redis else "database sweep, no redis")
    try:
        await stop.wait()
    finally:
        log.info("worker stopping")
        await runtime.stop()
        await engine.dispose()
        if publisher is not None:
            await publisher.close()
        if redis is not None:
            await redis.aclose()


async def stubborn_tasks(grace: float) -> list[asyncio.Task[object]]:
    """Cancel every other task still alive and wait up to ``grace`` seconds; return
    those that ignored the cancellation (asyncio.run would wait for them forever).

    Called after ``run_worker`` has handed back its leases and closed the engine:
    what is left is cleanup, and a shutdown must stay bounded (CI saw a worker,
    SIGTERMed after its import had finished, wait in asyncio.run's teardown)."""
    current = asyncio.current_task()
    rest = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in rest:
        task.cancel()
    if not rest:
        return []
    _, pending = await asyncio.wait(rest, timeout=grace)
    for task in pending:
        log.warning("task ignored cancellation at shutdown: %r", task.get_coro())
    return list(pending)


async def run_worker_bounded(settings: Settings, grace: float = 5.0) -> bool:
    """``run_worker``, then ``stubborn_tasks``: True when the loop is left clean."""
    await run_worker(settings)
    return not await stubborn_tasks(grace)
