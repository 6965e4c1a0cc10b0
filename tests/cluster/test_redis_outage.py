"""Redis stopped for 8 s under a load of orders and product reads, then started again
empty (it keeps nothing on disk here, like deploy/compose.yaml's): the service keeps
serving without it, and everything that needs it works again once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable

import httpx

from tests.cluster import shop
from tests.cluster.harness import Cluster, wait_until
from tests.cluster.load import Load

OUTAGE_SECONDS = 8.0
# The job listener and the event subscription retry at most 5 s apart.
JOB_AFTER_RETURN_BOUND = 12.0
EVENT_AFTER_RETURN_BOUND = 10.0  # the harness's safety-net poll is 30 s: this is Redis
FAIL_OPEN_WARNING = "Redis unavailable, failing open"


async def _shopping(cluster: Cluster, lb: httpx.AsyncClient) -> tuple[Load, str]:
    """Client 0 reads a product (cached in Redis), the others place orders."""
    product_id, accounts, body = await shop.stocked_product_and_buyers(cluster, lb)

    async def send(client: int) -> httpx.Response:
        if client == 0:
            return await lb.get(f"/api/v1/products/{product_id}")
        return await lb.post("/api/v1/orders", json=body, headers=accounts[client].headers)

    return Load(send), product_id


async def _while_down(cluster: Cluster, lb: httpx.AsyncClient) -> None:
    """What an outage looks like from outside: not ready, limits not enforced."""
    async with httpx.AsyncClient(timeout=5) as http:
        for base in cluster.app_urls:
            ready = await http.get(f"{base}/readyz")
            assert ready.status_code == 503, ready.text
            assert int(ready.headers["Retry-After"]) > 0
            assert ready.json()["checks"] == {"database": "ok", "redis": "unreachable"}
            # A limited request on each instance (nginx may still be avoiding one that
            # an earlier test restarted): each meets the outage and warns.
            assert (await http.get(f"{base}/api/v1/categories")).status_code == 200
    # Failed sign-ins past the account's limit (10 per 5 minutes): failing open, none
    # is refused with 429 (Redis, which counts them, is away).
    [account] = await shop.customers(lb, 1)
    wrong = {"email": account.email, "password": "not-the-password-1"}
    for _ in range(11):
        assert (await lb.post("/api/v1/auth/token", json=wrong)).status_code == 401


async def _first_job(cluster: Cluster, admin: shop.Account) -> None:
    """An import enqueued right after Redis is back runs on the worker. (Sent to the
    second instance: nothing may commit on the first, see below.)"""
    sku = f"R-{uuid.uuid4().hex[:8]}"
    headers = {**admin.headers, "Content-Type": "text/csv"}
    csv = f"sku,name,price_cents,stock\n{sku},Back,100,1\n".encode()
    async with shop.client(cluster.app_urls[1]) as http:
        response = await http.post("/api/v1/imports/products", content=csv, headers=headers)
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        while True:
            job = (await http.get(location, headers=admin.headers)).json()
            assert job["status"] in {"queued", "running", "succeeded"}, job
            if job["status"] == "succeeded":
                return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _subscribed(cluster: Cluster, admin: shop.Account) -> AsyncIterator[httpx.Response]:
    """A stream of product.created on the first instance, open from before the outage."""
    async with shop.client(cluster.app_urls[0]) as http, http.stream(
        "GET", "/api/v1/events", params={"types": "product.created"}, headers=admin.headers,
        timeout=60,
    ) as stream:  # fmt: skip
        assert stream.status_code == 200
        yield stream


async def _cross_instance_event(
    cluster: Cluster, admin: shop.Account, stream: httpx.Response
) -> None:
    """A product made on the second instance reaches the first one's stream: its Redis
    subscription, failing all through the outage, is back."""
    async with shop.client(cluster.app_urls[1]) as http:
        product_id = await shop.product(http, admin, stock=1)
    async for line in stream.aiter_lines():
        if line.startswith("data:") and product_id in line:
            assert json.loads(line[5:])["type"] == "product.created"
            return


async def _after_return(
    cluster: Cluster, admin: shop.Account, stream: httpx.Response
) -> tuple[float, float]:
    """Seconds from Redis's return to the first job done, and to the event."""
    back = time.monotonic()

    async def timed(work: Awaitable[None]) -> float:
        await work
        return time.monotonic() - back

    job, event = await asyncio.wait_for(
        asyncio.gather(
            timed(_first_job(cluster, admin)), timed(_cross_instance_event(cluster, admin, stream))
        ),
        JOB_AFTER_RETURN_BOUND + 5,
    )
    return job, event


def _warnings(cluster: Cluster, name: str, start: int) -> int:
    return cluster.procs[name].log.read_text(errors="replace")[start:].count(FAIL_OPEN_WARNING)


async def test_redis_outage_degrades_the_service_then_everything_recovers(
    cluster: Cluster,
) -> None:
    logs = {name: cluster.procs[name].log.stat().st_size for name in ("app1", "app2")}
    async with shop.client(cluster.url) as lb:
        admin = await shop.staff(cluster, lb)
        load, _ = await _shopping(cluster, lb)
        try:
            async with _subscribed(cluster, admin) as stream:
                async with load.running():
                    await asyncio.sleep(1)
                    await asyncio.to_thread(cluster.stop_redis)
                    stopped = time.monotonic()
                    await _while_down(cluster, lb)
                    await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - stopped))
                    await asyncio.to_thread(cluster.start_redis)
                    back = time.monotonic()
                # The load stops here: its commits on the first instance would wake its
                # stream locally, and hide whether the wake-ups through Redis are back.
                job, event = await _after_return(cluster, admin, stream)
        finally:
            if not cluster.procs["redis"].running:
                await asyncio.to_thread(cluster.start_redis)
    print(f"\nRedis outage of {back - stopped:.1f} s: {load.summary()}; slowest answer "
          f"{max(o.seconds for o in load.outcomes):.3f} s; after Redis's return: first job "
          f"done in {job:.2f} s, cross-instance event in {event:.2f} s")  # fmt: skip
    assert load.statuses() <= {200, 201}, load.summary()  # served throughout
    assert len([o for o in load.succeeded() if stopped < o.sent < back]) > 50, load.summary()
    assert max(o.seconds for o in load.outcomes) < 3  # nobody waited for Redis
    assert job < JOB_AFTER_RETURN_BOUND
    assert event < EVENT_AFTER_RETURN_BOUND
    await asyncio.to_thread(wait_until, "ready again", cluster.ready, 5)
    # Each instance logged the limiter's fail-open once, not once per request.
    assert [_warnings(cluster, name, start) for name, start in logs.items()] == [1, 1]
    await _limits_counted_again(cluster)


async def _limits_counted_again(cluster: Cluster) -> None:
    """Failing open answers with the whole budget left; counting again, less of it."""
    async with httpx.AsyncClient(timeout=5) as http:
        for base in cluster.app_urls:
            response = await http.get(f"{base}/api/v1/categories")
            assert response.status_code == 200
            remaining = int(response.headers["RateLimit-Remaining"])
            assert remaining < int(response.headers["RateLimit-Limit"])
