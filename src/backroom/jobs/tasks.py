"""The tasks taskiq runs: one entry point for every job row, and the periodic work.

Tasks take only ids; what they need comes from the ``JobRuntime`` in the
broker's state. Periodic tasks are safe to run in several processes at once:
each is a set of conditional updates that only one runner can win.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from taskiq import Context, TaskiqDepends

from backroom.config import Settings
from backroom.db import utcnow
from backroom.jobs import service as jobs
from backroom.jobs.models import JobStatus
from backroom.jobs.runtime import JobRuntime, runtime_of

log = logging.getLogger("backroom.jobs")

Handler = Callable[[JobRuntime, jobs.Lease], Awaitable[None]]


def _handlers() -> dict[str, Handler]:
    from backroom.imports.runner import KIND, run_import

    return {KIND: run_import}


async def run_job(job_id: str, context: Annotated[Context, TaskiqDepends()]) -> None:
    """Claim the job and run it; a job someone else holds (or that is done) is left alone."""
    runtime = runtime_of(context.state)
    current = asyncio.current_task()
    assert current is not None
    runtime.running.add(current)  # so a shutdown can wait for it, then cancel it
    try:
        await _run(runtime, uuid.UUID(job_id))
    finally:
        runtime.running.discard(current)


async def _run(runtime: JobRuntime, job_id: uuid.UUID) -> None:
    async with runtime.sessionmaker() as session:
        lease = await jobs.claim(session, job_id, runtime.lease)
    if lease is None:
        return
    handler = _handlers().get(lease.kind)
    beat = asyncio.create_task(_heartbeat(runtime, lease))
    try:
        if handler is None:
            raise RuntimeError(f"no handler for job kind {lease.kind!r}")
        await handler(runtime, lease)
    except jobs.LeaseLost:
        log.warning("job %s: lease lost (cancelled or taken over); stopped", job_id)
    except asyncio.CancelledError:
        async with runtime.sessionmaker() as session:  # shutting down: hand it back now
            await asyncio.shield(jobs.release(session, lease))
        raise
    except Exception as exc:
        log.exception("job %s failed", job_id)
        async with runtime.sessionmaker() as session:
            with contextlib.suppress(jobs.LeaseLost):
                await jobs.finish(
                    session, lease, JobStatus.FAILED, f"internal error: {type(exc).__name__}"
                )
    finally:
        beat.cancel()


async def _heartbeat(runtime: JobRuntime, lease: jobs.Lease) -> None:
    """Extend the lease while a long step (one big batch) runs."""
    while True:
        await asyncio.sleep(lease.duration.total_seconds() / 3)
        try:
            async with runtime.sessionmaker() as session:
                await jobs.heartbeat(session, lease)
        except jobs.LeaseLost:
            return
        except Exception:
            log.warning("job %s: heartbeat failed", lease.job_id, exc_info=True)


async def sweep(context: Annotated[Context, TaskiqDepends()]) -> int:
    """Enqueue again the jobs whose message was lost or whose runner died."""
    runtime = runtime_of(context.state)
    async with runtime.sessionmaker() as session:
        ids = await jobs.due_for_kick(session, utcnow(), runtime.lease)
    for job_id in ids:
        await runtime.kick(job_id)
    return len(ids)


async def expire_orders(context: Annotated[Context, TaskiqDepends()]) -> int:
    from backroom.orders.expiry import expire_unpaid

    runtime = runtime_of(context.state)
    return await expire_unpaid(
        runtime.sessionmaker, runtime.product_cache, runtime.settings.order_payment_timeout_seconds
    )


async def purge(context: Annotated[Context, TaskiqDepends()]) -> None:
    """Drop idempotency keys past their 24 hours, and events past their retention."""
    from backroom.events import outbox
    from backroom.idempotency.service import purge_expired

    runtime = runtime_of(context.state)
    async with runtime.sessionmaker() as session:
        await purge_expired(session)
    retention = timedelta(days=runtime.settings.event_retention_days)
    async with runtime.sessionmaker() as session:
        await outbox.purge(session, retention)


async def dispatch_webhooks(context: Annotated[Context, TaskiqDepends()]) -> int:
    """Fan new events out to webhook endpoints; start sending what is due."""
    from backroom.webhooks.runner import dispatch_due

    return await dispatch_due(runtime_of(context.state))


async def deliver_webhooks(endpoint_id: str, context: Annotated[Context, TaskiqDepends()]) -> None:
    """Send one endpoint's due deliveries, in order."""
    from backroom.webhooks.runner import deliver

    runtime = runtime_of(context.state)
    current = asyncio.current_task()
    assert current is not None
    runtime.running.add(current)  # a shutdown waits for it, then cancels it
    try:
        await deliver(runtime, uuid.UUID(endpoint_id))
    finally:
        runtime.running.discard(current)


def periodic(settings: Settings) -> list[tuple[str, Callable[..., Awaitable[Any]], int]]:
    """Task name, function, interval in seconds."""
    return [
        ("backroom.sweep_jobs", sweep, settings.job_sweep_seconds),
        ("backroom.expire_orders", expire_orders, min(30, settings.order_payment_timeout_seconds)),
        ("backroom.purge", purge, 3600),
        ("backroom.dispatch_webhooks", dispatch_webhooks, settings.webhook_poll_seconds),
    ]
