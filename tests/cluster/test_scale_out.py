"""Two instances behind nginx behave as one service: nothing is kept per instance
that another instance could contradict."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter

import httpx

from tests.cluster import shop
from tests.cluster.harness import Cluster


async def test_a_write_on_one_instance_is_never_served_stale_by_the_other(
    cluster: Cluster,
) -> None:
    one, two = cluster.app_urls
    async with shop.client(cluster.url) as lb, shop.client(one) as a, shop.client(two) as b:
        admin = await shop.staff(cluster, lb)
        product_id = await shop.product(lb, admin, stock=5)
        path = f"/api/v1/products/{product_id}"
        sku = (await lb.get(path)).json()["sku"]
        for round_ in range(6):
            # Every reader has the current version cached (in Redis) before the write.
            for reader in (a, b, lb, lb):
                assert (await reader.get(path)).status_code == 200
            writer = (a, b)[round_ % 2]
            name = f"name {round_} {uuid.uuid4().hex[:6]}"
            body = {"sku": sku, "name": name, "price_cents": 1000 + round_}
            response = await writer.put(path, json=body, headers=admin.headers)
            assert response.status_code == 200, response.text
            for reader in (a, b, lb, lb, lb):
                seen = (await reader.get(path)).json()
                assert (seen["name"], seen["price_cents"]) == (name, 1000 + round_)


async def test_rate_limits_are_one_budget_across_instances(cluster: Cluster) -> None:
    """Failed sign-ins of one account (10 per 5 minutes), alternating between the
    instances: the 11th is refused wherever it lands."""
    one, two = cluster.app_urls
    async with shop.client(cluster.url) as lb, shop.client(one) as a, shop.client(two) as b:
        [account] = await shop.customers(lb, 1)
        wrong = {"email": account.email, "password": "not-the-password-1"}
        for attempt in range(10):
            response = await (a, b)[attempt % 2].post("/api/v1/auth/token", json=wrong)
            assert response.status_code == 401, response.text
        for http in (a, b, lb):
            response = await http.post("/api/v1/auth/token", json=wrong)
            assert response.status_code == 429, response.text
            assert int(response.headers["Retry-After"]) > 0
            assert response.headers["RateLimit-Remaining"] == "0"


async def _next_event(stream: httpx.Response, wanted: str) -> dict[str, object]:
    """The data of the first SSE message whose data mentions ``wanted``."""
    async for line in stream.aiter_lines():
        if line.startswith("data:") and wanted in line:
            loaded: dict[str, object] = json.loads(line[5:])
            return loaded
    raise AssertionError("the stream ended")


async def test_events_from_one_instance_reach_subscribers_on_the_other(cluster: Cluster) -> None:
    one, two = cluster.app_urls
    async with shop.client(cluster.url) as lb, shop.client(one) as a, shop.client(two) as b:
        admin = await shop.staff(cluster, lb)
        for subscriber, writer in ((a, b), (b, a)):
            params = {"types": "product.created"}
            async with subscriber.stream(
                "GET", "/api/v1/events", params=params, headers=admin.headers, timeout=30
            ) as stream:
                assert stream.status_code == 200
                await asyncio.sleep(0.5)  # subscribed (a missed wake-up is caught by the poll)
                sent = time.monotonic()
                product_id = await shop.product(writer, admin, stock=1)
                async with asyncio.timeout(10):
                    event = await _next_event(stream, product_id)
                assert event["type"] == "product.created"
                assert time.monotonic() - sent < 10


async def test_jobs_run_on_the_worker_not_on_the_web_instances(cluster: Cluster) -> None:
    worker = cluster.procs["worker"]
    sku = f"IMP-{uuid.uuid4().hex[:8]}"
    csv = f"sku,name,price_cents,stock\n{sku}-1,One,100,3\n{sku}-2,Two,200,4\n".encode()
    async with shop.client(cluster.url) as lb:
        admin = await shop.staff(cluster, lb)
        headers = {**admin.headers, "Content-Type": "text/csv"}
        worker.send(signal.SIGSTOP)
        try:
            response = await lb.post("/api/v1/imports/products", content=csv, headers=headers)
            assert response.status_code == 202, response.text
            location = response.headers["Location"]
            # Both web instances are up and idle; with the worker frozen nobody starts it.
            for _ in range(8):
                await asyncio.sleep(0.25)
                status = (await lb.get(location, headers=admin.headers)).json()["status"]
                assert status == "queued"
        finally:
            worker.send(signal.SIGCONT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job = (await lb.get(location, headers=admin.headers)).json()
            if job["status"] in {"succeeded", "failed"}:
                break
            await asyncio.sleep(0.2)
        assert job["status"] == "succeeded", job
        assert (job["rows_created"], job["rows_failed"]) == (2, 0)
        found = await lb.get("/api/v1/products", params={"q": sku}, headers=admin.headers)
        assert sorted(p["stock"] for p in found.json()["items"]) == [3, 4]


async def test_no_oversell_when_customers_race_through_both_instances(cluster: Cluster) -> None:
    stock, buyers = 10, 30
    one, two = cluster.app_urls
    async with shop.client(cluster.url) as lb, shop.client(one) as a, shop.client(two) as b:
        admin = await shop.staff(cluster, lb)
        product_id = await shop.product(lb, admin, stock=stock)
        accounts = await shop.customers(lb, buyers)
        routes = (a, b, lb)

        async def buy(index: int) -> int:
            response = await routes[index % 3].post(
                "/api/v1/orders", json=shop.order_body(product_id), headers=accounts[index].headers
            )
            return response.status_code

        statuses = Counter(await asyncio.gather(*(buy(i) for i in range(buyers))))
        assert statuses == Counter({201: stock, 409: buyers - stock})
        assert (await lb.get(f"/api/v1/products/{product_id}")).json()["stock"] == 0
        ledger = await lb.get(
            f"/api/v1/products/{product_id}/stock-movements", headers=admin.headers,
            params={"limit": 100},
        )  # fmt: skip
        assert sum(m["delta"] for m in ledger.json()["items"]) == 0


async def test_an_idempotency_key_holds_across_instances(cluster: Cluster) -> None:
    keys = 8
    one, two = cluster.app_urls
    async with shop.client(cluster.url) as lb, shop.client(one) as a, shop.client(two) as b:
        admin = await shop.staff(cluster, lb)
        product_id = await shop.product(lb, admin, stock=100)
        [buyer] = await shop.customers(lb, 1)
        body = shop.order_body(product_id)
        first: dict[str, str] = {}
        for _ in range(keys):
            key = uuid.uuid4().hex
            headers = {**buyer.headers, "Idempotency-Key": key}
            pair = await asyncio.gather(
                a.post("/api/v1/orders", json=body, headers=headers),
                b.post("/api/v1/orders", json=body, headers=headers),
            )
            fresh = [
                r for r in pair if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
            ]
            assert len(fresh) == 1, [(r.status_code, r.text) for r in pair]
            for other in pair:
                if other is not fresh[0]:
                    assert other.status_code in {201, 409}, other.text
                    if other.status_code == 201:
                        assert other.json()["id"] == fresh[0].json()["id"]
            first[key] = fresh[0].json()["id"]
        for key, order_id in first.items():  # a later retry, through nginx, replays
            headers = {**buyer.headers, "Idempotency-Key": key}
            again = await lb.post("/api/v1/orders", json=body, headers=headers)
            assert again.status_code == 201
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json()["id"] == order_id
        orders = (await lb.get("/api/v1/orders", headers=buyer.headers)).json()["items"]
        assert sorted(o["id"] for o in orders) == sorted(first.values())
        assert (await lb.get(f"/api/v1/products/{product_id}")).json()["stock"] == 100 - keys
