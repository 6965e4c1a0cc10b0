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

import uuid

from backroom.db import utcnow
from backroom.jobs.runtime import JobRuntime
from backroom.webhooks import delivery, dispatch

DISPATCH = "backroom.dispatch_webhooks"
DELIVER = "backroom.deliver_webhooks"
MAX_FAN_OUT_BATCHES = 20


async def dispatch_due(runtime: JobRuntime) -> int:
    """Fan out what is new, start a sender per endpoint with due work. Returns how
    many events were fanned out."""
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
