"""The webhook work the job runtime runs.

``backroom.dispatch_webhooks`` (periodic, and woken after every commit that
recorded events): fan new events out into deliveries, then enqueue one
``backroom.deliver_webhooks`` per endpoint with an attempt due. The latter
sends that endpoint's deliveries (``delivery.run_endpoint``). Several
processes may run both at once: fan-out is a compare-and-set and each endpoint
has one sender at a time (a lease), so nothing is sent twice except after a
crash mid-attempt.
"""

from __future__ import annotations

import logging
import time
import uuid

from backroom.db import utcnow
from backroom.jobs.runtime import JobRuntime
from backroom.webhooks import delivery, dispatch

DISPATCH = "backroom.dispatch_webhooks"
DELIVER = "backroom.deliver_webhooks"
MAX_FAN_OUT_BATCHES = 20
# A process that runs no scheduler re-reads whether endpoints exist this often
# (one may have been created through another process).
REFRESH_SECONDS = 10.0

log = logging.getLogger("backroom.webhooks")


def on_commit(runtime: JobRuntime) -> None:
    """After a commit in this process recorded events: wake the dispatcher, if any
    endpoint is active (a shop without webhooks sends no message at all)."""
    if runtime.webhooks_active:
        runtime.wake(DISPATCH)
    elif not runtime.schedules and time.monotonic() - runtime.webhooks_checked > REFRESH_SECONDS:
        runtime.webhooks_checked = time.monotonic()  # one refresh at a time
        runtime.spawn(_refresh_then_wake(runtime))


async def refresh(runtime: JobRuntime) -> None:
    """Read whether any endpoint is active (at start-up, and now and then). A
    failure leaves the flag as it was; the next dispatcher run sets it."""
    try:
        async with runtime.sessionmaker() as session:
            runtime.webhooks_active = await dispatch.any_active(session)
        runtime.webhooks_checked = time.monotonic()
    except Exception:
        log.warning("could not read whether webhook endpoints exist", exc_info=True)


async def _refresh_then_wake(runtime: JobRuntime) -> None:
    await refresh(runtime)
    if runtime.webhooks_active:
        runtime.wake(DISPATCH)


async def dispatch_due(runtime: JobRuntime) -> int:
    """Fan out what is new, start a sender per endpoint with due work. Returns how
    many events were fanned out."""
    async with runtime.sessionmaker() as session:
        runtime.webhooks_active = await dispatch.any_active(session)
    runtime.webhooks_checked = time.monotonic()
    if not runtime.webhooks_active:
        async with runtime.sessionmaker() as session:
            await dispatch.skip_to_latest(session)
        return 0
    fanned = 0
    for _ in range(MAX_FAN_OUT_BATCHES):
        async with runtime.sessionmaker() as session:
            done = await dispatch.fan_out(session)
        fanned += done
        if done < dispatch.FAN_OUT_BATCH:
            break
    async with runtime.sessionmaker() as session:
        due = await dispatch.due_endpoints(session, utcnow())
    for endpoint_id in due:
        await runtime.send(DELIVER, str(endpoint_id))
    return fanned


async def deliver(runtime: JobRuntime, endpoint_id: uuid.UUID) -> None:
    policy = delivery.Policy.of(runtime.settings)
    more = await delivery.run_endpoint(
        runtime.sessionmaker, runtime.webhook_client(), policy, endpoint_id, runtime.stopping
    )
    if more:  # its budget ran out: let others have a turn, then carry on
        await runtime.send(DELIVER, str(endpoint_id))
