from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient

from tests.factories import Actor

WEBHOOKS = "/api/v1/webhooks"


async def create_hook(
    client: AsyncClient, admin: Actor, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    body = {"url": url, "events": events or ["*"]}
    response = await client.post(WEBHOOKS, headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deliveries(client: AsyncClient, admin: Actor, hook_id: str) -> list[dict[str, Any]]:
    """Every attempt, oldest first."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{WEBHOOKS}/{hook_id}/deliveries?limit=100"
    while url:
        response = await client.get(url, headers=admin.headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        url = f"{WEBHOOKS}/{hook_id}/deliveries?limit=100&cursor={cursor}" if cursor else None
    return sorted(items, key=lambda d: (int(d["event_id"]), d["attempt"]))


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def settled(client: AsyncClient, admin: Actor, hook_id: str) -> list[dict[str, Any]]:
    """The attempts once none is pending any more."""
    found: list[dict[str, Any]] = []

    async def done() -> bool:
        nonlocal found
        found = await deliveries(client, admin, hook_id)
        return bool(found) and all(d["status"] != "pending" for d in found)

    await eventually(done)
    return found
