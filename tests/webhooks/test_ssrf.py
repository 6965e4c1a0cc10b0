"""A webhook can't be aimed at internal services: checked at creation, and again
before every attempt (DNS answers change)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from backroom.config import Settings
from backroom.webhooks import urls
from tests.catalog.helpers import create_product
from tests.factories import Actors
from tests.test_http_conventions import assert_problem
from tests.webhooks.helpers import WEBHOOKS, create_hook, eventually
from tests.webhooks.receiver import Receiver

REFUSED = [
    "https://10.0.0.1/hook",
    "https://10.255.1.2:8443/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://127.0.0.1/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",  # IPv4 hidden in IPv6
    "https://224.0.0.1/hook",
    "https://localhost/hook",  # a name that resolves to 127.0.0.1
    "http://93.184.215.14/hook",  # plain http
]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        webhook_allow_private_urls=False, webhook_retry_base_seconds=0.1,
        webhook_retry_max_delay_seconds=0.5,
    )  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
async def test_internal_targets_are_refused(client: AsyncClient, actors: Actors, url: str) -> None:
    admin = await actors.admin()
    problem = assert_problem(
        await client.post(WEBHOOKS, headers=admin.headers, json={"url": url, "events": ["*"]}), 422
    )
    assert problem["errors"][0]["field"] == "url"


async def test_a_public_https_target_is_accepted(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    await create_hook(client, admin, "https://93.184.215.14/hook")
    await create_hook(client, admin, "https://[2606:4700:4700::1111]:8443/hook")


async def test_the_allow_setting_opens_loopback_and_private_addresses() -> None:
    for url in ("http://127.0.0.1:9/x", "http://localhost:9/x", "https://10.0.0.1/x",
                "https://[::1]/x", "https://169.254.169.254/x"):  # fmt: skip
        await urls.resolve(url, allow_private=True)
    for url in ("http://10.0.0.1/x", "http://93.184.215.14/x"):  # http stays loopback-only
        with pytest.raises(urls.UnsafeUrl, match="loopback"):
            await urls.resolve(url, allow_private=True)
    with pytest.raises(urls.UnsafeUrl, match="non-public"):
        await urls.resolve("https://localhost/x", allow_private=False)


async def test_a_target_that_turned_internal_is_refused_at_delivery(
    app: FastAPI, client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    """Created while allowed (as if its name pointed elsewhere then), the endpoint
    now resolves to loopback with the setting off: no request leaves."""
    admin, staff = await actors.admin(), await actors.staff()
    settings = app.state.ctx.settings
    settings.webhook_allow_private_urls = True
    hook = await create_hook(client, admin, receiver.url.replace("127.0.0.1", "localhost"))
    settings.webhook_allow_private_urls = False
    await create_product(client, staff)

    async def refused_twice() -> bool:
        response = await client.get(f"{WEBHOOKS}/{hook['id']}/deliveries", headers=admin.headers)
        return sum(d["status"] == "failed" for d in response.json()["items"]) >= 2

    await eventually(refused_twice)
    assert receiver.requests == []
    response = await client.get(f"{WEBHOOKS}/{hook['id']}/deliveries", headers=admin.headers)
    failed = [d for d in response.json()["items"] if d["status"] == "failed"]
    assert all(d["error"].startswith("refused: ") for d in failed)
    assert all(d["response_status"] is None for d in failed)
