"""Deliveries to a real HTTP receiver on 127.0.0.1: signatures, retries, order."""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI
from httpx import AsyncClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backroom.db import create_engine, create_sessionmaker
from backroom.events import outbox
from backroom.events.types import EventType
from tests.catalog.helpers import create_product
from tests.events.helpers import events
from tests.factories import Actors
from tests.webhooks.helpers import WEBHOOKS, create_hook, deliveries, eventually, settled
from tests.webhooks.receiver import Receiver, Reply


async def test_a_delivery_is_signed_as_standard_webhooks_says(
    app: FastAPI, client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    hook = await create_hook(client, admin, receiver.url)
    product = await create_product(client, staff)
    [request] = await receiver.wait_for(1)
    verified = Webhook(hook["secret"]).verify(request.body, request.headers)
    [event] = await events(app)
    assert verified == event  # {id, type, timestamp, data}, exactly the logged event
    assert verified["type"] == "product.created" and verified["data"] == product
    assert request.headers["webhook-id"] == event["id"]
    assert request.headers["content-type"] == "application/json"
    assert request.path == "/hook"
    forged = dict(request.headers, **{"webhook-signature": "v1,AAAA"})
    try:
        Webhook(hook["secret"]).verify(request.body, forged)
        raise AssertionError("a forged signature verified")
    except WebhookVerificationError:
        pass
    [attempt] = await settled(client, admin, hook["id"])
    assert attempt["status"] == "succeeded" and attempt["response_status"] == 200
    assert (attempt["event_id"], attempt["event_type"], attempt["attempt"]) == (
        event["id"], "product.created", 1,
    )  # fmt: skip
    assert attempt["error"] is None


async def test_500_then_200_records_exactly_one_success(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    receiver.script.extend([Reply(500), Reply(502)])
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    requests = await receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # the same message, retried
    attempts = await settled(client, admin, hook["id"])
    assert [(a["attempt"], a["status"], a["response_status"]) for a in attempts] == [
        (1, "failed", 500), (2, "failed", 502), (3, "succeeded", 200),
    ]  # fmt: skip
    assert attempts[0]["error"] == "HTTP 500"
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 3  # nothing more once it succeeded


async def test_retry_after_is_honoured(
    app: FastAPI, client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    app.state.ctx.settings.webhook_retry_max_delay_seconds = 5  # Retry-After is capped by it
    admin, staff = await actors.admin(), await actors.staff()
    receiver.script.append(Reply(503, {"Retry-After": "2"}))  # backoff alone: ~0.1 s
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    first, second = await receiver.wait_for(2)
    assert second.at - first.at >= 1.9
    statuses = [a["status"] for a in await settled(client, admin, hook["id"])]
    assert statuses == ["failed", "succeeded"]


async def test_a_timeout_is_retried(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    receiver.script.append(Reply(200, delay=3))  # past the 1 s timeout
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    attempts = await settled(client, admin, hook["id"])
    assert [a["status"] for a in attempts] == ["failed", "succeeded"]
    assert attempts[0]["error"] == "timed out after 1 s"
    assert attempts[0]["response_status"] is None


async def test_a_receiver_down_for_a_while_gets_everything_in_order_once_back(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    hook = await create_hook(client, admin, receiver.url)
    await receiver.stop()
    for _ in range(5):
        await create_product(client, staff)

    async def failing() -> bool:
        return any(a["status"] == "failed" for a in await deliveries(client, admin, hook["id"]))

    await eventually(failing)
    await asyncio.sleep(1.5)  # a few more refused attempts
    await receiver.start()
    requests = await receiver.wait_for(5)
    ids = [int(r.headers["webhook-id"]) for r in requests]
    assert ids == sorted(ids) and len(set(ids)) == 5  # in order, each once
    attempts = await settled(client, admin, hook["id"])
    assert sum(a["status"] == "succeeded" for a in attempts) == 5
    refused = [a for a in attempts if a["status"] == "failed"]
    assert refused and all(a["response_status"] is None for a in refused)
    assert all("ConnectError" in a["error"] for a in refused)


async def test_events_reach_each_endpoint_in_order_and_only_the_types_it_wants(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    other = Receiver()
    await other.start()
    try:
        await create_hook(client, admin, receiver.url, ["*"])
        await create_hook(client, admin, other.url, ["product.updated"])
        product = await create_product(client, staff)
        for price in range(1, 9):
            url = f"/api/v1/products/{product['id']}"
            patched = await client.patch(url, headers=staff.headers, json={"price_cents": price})
            assert patched.status_code == 200
        everything = await receiver.wait_for(9)
        updates = await other.wait_for(8)
    finally:
        await other.stop()
    bodies = [json.loads(r.body) for r in everything]
    assert [b["type"] for b in bodies] == ["product.created"] + ["product.updated"] * 8
    assert [b["data"]["price_cents"] for b in bodies[1:]] == list(range(1, 9))
    assert [json.loads(r.body) for r in updates] == bodies[1:]


async def test_an_endpoint_gets_no_events_from_before_it_existed(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    await create_product(client, staff)
    await asyncio.sleep(1.2)  # a dispatcher run has passed
    await create_hook(client, admin, receiver.url)
    later = await create_product(client, staff)
    [request] = await receiver.wait_for(1)
    await asyncio.sleep(1.2)
    assert len(receiver.requests) == 1
    assert json.loads(request.body)["data"]["id"] == later["id"]


async def test_a_redirect_is_not_followed(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    receiver.script.append(Reply(302, {"Location": "http://127.0.0.1:9/elsewhere"}))
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    attempts = await settled(client, admin, hook["id"])
    assert [(a["status"], a["response_status"]) for a in attempts] == [
        ("failed", 302), ("succeeded", 200),
    ]  # fmt: skip
    assert {r.path for r in receiver.requests} == {"/hook"}


async def test_redeliver_sends_the_same_message_again(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    [first] = await settled(client, admin, hook["id"])
    url = f"{WEBHOOKS}/{hook['id']}/deliveries/{first['id']}/redeliver"
    response = await client.post(url, headers=admin.headers)
    assert response.status_code == 202, response.text
    again = response.json()
    assert (again["attempt"], again["status"], again["event_id"]) == (
        2,
        "pending",
        first["event_id"],
    )
    location = response.headers["location"]
    assert location == f"{WEBHOOKS}/{hook['id']}/deliveries/{again['id']}"
    requests = await receiver.wait_for(2)
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    assert requests[0].body == requests[1].body

    async def succeeded() -> bool:
        shown = await client.get(location, headers=admin.headers)
        return bool(shown.json()["status"] == "succeeded")

    await eventually(succeeded)
    missing = f"{WEBHOOKS}/{hook['id']}/deliveries/{hook['id']}/redeliver"
    assert (await client.post(missing, headers=admin.headers)).status_code == 404


async def test_redeliver_while_one_is_pending_is_409(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    receiver.default = Reply(500)
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    await receiver.wait_for(1)
    first = (await deliveries(client, admin, hook["id"]))[0]
    url = f"{WEBHOOKS}/{hook['id']}/deliveries/{first['id']}/redeliver"
    response = await client.post(url, headers=admin.headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_endpoint_that_keeps_failing_is_disabled_then_resumes(
    app: FastAPI, client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    app.state.ctx.settings.webhook_retry_horizon_seconds = 2
    admin, staff = await actors.admin(), await actors.staff()
    receiver.default = Reply(500)
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    await create_product(client, staff)
    url = f"{WEBHOOKS}/{hook['id']}"

    async def disabled() -> bool:
        return (await client.get(url, headers=admin.headers)).json()["is_active"] is False

    await eventually(disabled)
    shown = (await client.get(url, headers=admin.headers)).json()
    assert shown["disabled_at"] is not None
    assert "kept failing for 2 s" in shown["disabled_reason"]
    assert "HTTP 500" in shown["disabled_reason"]
    attempts = await deliveries(client, admin, hook["id"])
    first_event = attempts[0]["event_id"]
    assert all(a["status"] == "failed" for a in attempts if a["event_id"] == first_event)
    assert [a["status"] for a in attempts if a["event_id"] != first_event] == ["pending"]
    sent = len(receiver.requests)
    await asyncio.sleep(1.5)
    assert len(receiver.requests) == sent  # disabled: nothing more is sent

    receiver.default = Reply(200)
    app.state.ctx.settings.webhook_retry_horizon_seconds = 60
    enabled = await client.patch(url, headers=admin.headers, json={"is_active": True})
    assert enabled.json()["disabled_reason"] is None and enabled.json()["disabled_at"] is None
    await receiver.wait_for(sent + 1)
    later = await settled(client, admin, hook["id"])
    assert [a["status"] for a in later if a["event_id"] != first_event] == ["succeeded"]


async def test_deleting_an_endpoint_stops_its_deliveries(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    receiver.default = Reply(500)
    hook = await create_hook(client, admin, receiver.url)
    await create_product(client, staff)
    await receiver.wait_for(1)
    assert (
        await client.delete(f"{WEBHOOKS}/{hook['id']}", headers=admin.headers)
    ).status_code == 204
    await asyncio.sleep(0.5)
    sent = len(receiver.requests)
    await asyncio.sleep(1.5)
    assert len(receiver.requests) == sent


async def test_events_committed_elsewhere_are_found_by_the_periodic_dispatcher(
    app: FastAPI, client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    """Another process's commit wakes nothing here: the periodic dispatcher run
    (every BACKROOM_WEBHOOK_POLL_SECONDS; the ``ticking`` fixture here) finds it."""
    admin = await actors.admin()
    await create_hook(client, admin, receiver.url)
    await asyncio.sleep(0.5)  # let the wake-ups of the set-up pass
    engine = create_engine(app.state.ctx.settings)  # no notifier: like another process
    try:
        async with create_sessionmaker(engine)() as session:
            outbox.record(session, EventType.STOCK_LOW, {"product_id": "p", "stock": 1})
            await session.commit()
    finally:
        await engine.dispose()
    [request] = await receiver.wait_for(1, within=10)
    assert json.loads(request.body)["type"] == "stock.low"
