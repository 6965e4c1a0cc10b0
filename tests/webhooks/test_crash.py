"""A real ``backroom serve`` killed with SIGKILL right after an order commits:
once it is started again, the ``order.created`` webhook is delivered.

On PostgreSQL the jobs travel through Redis; on SQLite they run in-process.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests import live
from tests.backends import Backend
from tests.conftest import PG_URL, REDIS_URL
from tests.webhooks.receiver import Receiver, Reply

pytestmark = pytest.mark.live
PASSWORD = "correct-horse-battery-9"
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "X", "postal_code": "1", "country": "US"}


@pytest.fixture
def env(backend: Backend, tmp_path: Path) -> dict[str, str]:
    values = live.live_env(backend.name, tmp_path, PG_URL, REDIS_URL, name="webhooks")
    if REDIS_URL and "BACKROOM_REDIS_URL" in values:
        # This test's own Redis database: no in-process app of this test uses it, and
        # nobody else flushes it meanwhile (the neighbouring one is not ours).
        values["BACKROOM_REDIS_URL"] = REDIS_URL
    values.update(
        BACKROOM_WEBHOOK_ALLOW_PRIVATE_URLS="true",
        BACKROOM_WEBHOOK_TIMEOUT_SECONDS="1",  # so a dead sender's lease ends in 12 s
        BACKROOM_WEBHOOK_RETRY_BASE_SECONDS="0.2",
        BACKROOM_WEBHOOK_POLL_SECONDS="1",
    )
    subprocess.run([sys.executable, "-m", "backroom", "migrate"], env=values, check=True,
                   capture_output=True)  # fmt: skip
    live.create_admin(values, "admin@example.com", PASSWORD)
    return values


@asynccontextmanager
async def _serving(env: dict[str, str]) -> AsyncIterator[live.LiveServer]:
    # Started in a thread: the receiver shares this event loop and must keep answering.
    manager = live.serve(env)
    server = await asyncio.to_thread(manager.__enter__)
    try:
        yield server
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def _setup(http: httpx.AsyncClient, receiver: Receiver) -> tuple[dict[str, str], str, str]:
    """Sign in, register the webhook, create a product. Returns headers, secret, product id."""
    login = {"email": "admin@example.com", "password": PASSWORD}
    token = (await http.post("/api/v1/auth/token", json=login)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    hook = await http.post(
        "/api/v1/webhooks", headers=headers, json={"url": receiver.url, "events": ["order.created"]}
    )
    assert hook.status_code == 201, hook.text
    body = {"sku": "K-1", "name": "K", "price_cents": 5, "stock": 9}
    product = await http.post("/api/v1/products", headers=headers, json=body)
    assert product.status_code == 201, product.text
    return headers, hook.json()["secret"], product.json()["id"]


async def _order(http: httpx.AsyncClient, headers: dict[str, str], product_id: str) -> Any:
    body = {"shipping_address": ADDRESS, "items": [{"product_id": product_id, "quantity": 1}]}
    response = await http.post("/api/v1/orders", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _check(request: Any, secret: str, order: Any) -> None:
    delivered = Webhook(secret).verify(request.body, request.headers)
    assert delivered["type"] == "order.created"
    assert delivered["data"]["id"] == order["id"]


async def test_kill_9_right_after_the_commit_then_restart_delivers(env: dict[str, str]) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        async with _serving(env) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                headers, secret, product_id = await _setup(http, receiver)
                await receiver.stop()  # nothing can be delivered before the kill
                order = await _order(http, headers, product_id)
            server.process.kill()
            server.process.wait()
        await receiver.start()
        async with _serving(env):
            [request] = await receiver.wait_for(1, within=30)
        _check(request, secret, order)
    finally:
        await receiver.stop()


async def test_kill_9_during_a_delivery_then_restart_delivers_again(env: dict[str, str]) -> None:
    """The attempt was on the wire when the process died: its outcome is unknown,
    so it is sent again (at least once) with the same webhook-id."""
    receiver = Receiver()
    receiver.script.append(Reply(200, delay=60))  # takes the request, never answers
    await receiver.start()
    try:
        async with _serving(env) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                headers, secret, product_id = await _setup(http, receiver)
                order = await _order(http, headers, product_id)
            await receiver.wait_for(1, within=30)
            server.process.kill()
            server.process.wait()
        async with _serving(env) as server:
            first, second = await receiver.wait_for(2, within=60)
            assert first.headers["webhook-id"] == second.headers["webhook-id"]
            _check(second, secret, order)
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                await _attempts_recorded(http)
    finally:
        await receiver.stop()


async def _attempts_recorded(http: httpx.AsyncClient) -> None:
    login = {"email": "admin@example.com", "password": PASSWORD}
    token = (await http.post("/api/v1/auth/token", json=login)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    [hook] = (await http.get("/api/v1/webhooks", headers=headers)).json()["items"]
    for _ in range(100):
        listing = await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        attempts = sorted(listing.json()["items"], key=lambda d: d["attempt"])
        if attempts and attempts[-1]["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "failed"), (2, "succeeded")]
    assert attempts[0]["error"].startswith("interrupted")
    assert json.dumps(attempts)  # plain JSON all the way
