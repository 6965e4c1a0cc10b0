"""Managing webhook endpoints: admin only, validated, the secret shown once."""

from __future__ import annotations

import base64

import pytest
from httpx import AsyncClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.catalog.helpers import create_product
from tests.factories import Actors
from tests.test_http_conventions import assert_problem
from tests.webhooks.helpers import WEBHOOKS, create_hook
from tests.webhooks.receiver import Receiver

PUBLIC = "https://93.184.215.14/hooks/backroom"  # a public address: no DNS needed


async def test_create_read_list_update_delete(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    response = await client.post(
        WEBHOOKS, headers=admin.headers, json={"url": PUBLIC, "events": ["order.paid"]}
    )
    assert response.status_code == 201, response.text
    hook = response.json()
    assert response.headers["location"] == f"{WEBHOOKS}/{hook['id']}"
    assert hook["secret"].startswith("whsec_")
    assert len(base64.b64decode(hook["secret"].removeprefix("whsec_"))) == 32
    assert (hook["url"], hook["events"], hook["is_active"]) == (PUBLIC, ["order.paid"], True)
    assert hook["disabled_reason"] is None and hook["disabled_at"] is None
    url = f"{WEBHOOKS}/{hook['id']}"
    shown = await client.get(url, headers=admin.headers)
    assert shown.status_code == 200
    assert "secret" not in shown.json()  # shown once, at creation
    assert shown.json() == {k: v for k, v in hook.items() if k != "secret"}
    cached = {**admin.headers, "If-None-Match": shown.headers["etag"]}
    assert (await client.get(url, headers=cached)).status_code == 304
    second = await create_hook(client, admin, PUBLIC, ["*"])
    listed = await client.get(f"{WEBHOOKS}?limit=1", headers=admin.headers)
    assert [h["id"] for h in listed.json()["items"]] == [second["id"]]
    assert "secret" not in listed.json()["items"][0]
    rest = await client.get(f"{WEBHOOKS}?limit=1&cursor={listed.json()['next_cursor']}",
                            headers=admin.headers)  # fmt: skip
    assert [h["id"] for h in rest.json()["items"]] == [hook["id"]]
    change = {"events": ["order.paid", "order.refunded"], "is_active": False}
    patched = await client.patch(url, headers=admin.headers, json=change)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["events"], patched.json()["is_active"]) == (
        ["order.paid", "order.refunded"], False,
    )  # fmt: skip
    stale = await client.patch(url, headers={**admin.headers, "If-Match": shown.headers["etag"]},
                               json={"is_active": True})  # fmt: skip
    assert_problem(stale, 412)
    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    assert_problem(await client.get(url, headers=admin.headers), 404)
    assert_problem(await client.get(f"{url}/deliveries", headers=admin.headers), 404)


async def test_only_admins_manage_webhooks(client: AsyncClient, actors: Actors) -> None:
    admin, staff, customer = await actors.admin(), await actors.staff(), await actors.customer()
    hook = await create_hook(client, admin, PUBLIC)
    url = f"{WEBHOOKS}/{hook['id']}"
    delivery = f"{url}/deliveries/{hook['id']}"
    calls = [
        ("GET", WEBHOOKS, None), ("POST", WEBHOOKS, {"url": PUBLIC, "events": ["*"]}),
        ("GET", url, None), ("PATCH", url, {"is_active": False}), ("DELETE", url, None),
        ("POST", f"{url}/rotate-secret", None), ("GET", f"{url}/deliveries", None),
        ("GET", delivery, None), ("POST", f"{delivery}/redeliver", None),
    ]  # fmt: skip
    for method, path, body in calls:
        for who in (staff, customer):
            response = await client.request(method, path, headers=who.headers, json=body)
            assert_problem(response, 403)
        assert_problem(await client.request(method, path, json=body), 401)
    assert (await client.get(url, headers=admin.headers)).json()["is_active"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": PUBLIC, "events": ["order.exploded"]}, "events.0"),
        ({"url": PUBLIC, "events": ["order.paid", "order.paid"]}, "events"),
        ({"url": PUBLIC, "events": ["*", "order.paid"]}, "events"),
        ({"url": PUBLIC, "events": "order.paid"}, "events"),
        ({"url": 42, "events": ["*"]}, "url"),
        ({"url": "", "events": ["*"]}, "url"),
        ({"url": "x" * 3000, "events": ["*"]}, "url"),
        ({"url": PUBLIC, "events": ["*"], "is_active": "true"}, "is_active"),
        ({"url": PUBLIC, "events": ["*"], "secret": "whsec_mine"}, "secret"),
        ({"url": "ftp://93.184.215.14/x", "events": ["*"]}, "url"),
        ({"url": "not a url at all", "events": ["*"]}, "url"),
        ({"url": "https://user:pw@93.184.215.14/x", "events": ["*"]}, "url"),
        ({"url": "https://93.184.215.14/x#frag", "events": ["*"]}, "url"),
        ({"url": "https://no-such-host.invalid/x", "events": ["*"]}, "url"),
    ],
)
async def test_garbage_is_422_problem_json(
    client: AsyncClient, actors: Actors, body: dict[str, object], field: str
) -> None:
    admin = await actors.admin()
    problem = assert_problem(await client.post(WEBHOOKS, headers=admin.headers, json=body), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem


async def test_more_garbage(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    headers = {**admin.headers, "Content-Type": "application/json"}
    assert_problem(await client.post(WEBHOOKS, headers=headers, content=b"{not json"), 400)
    text = {**admin.headers, "Content-Type": "text/plain"}
    assert_problem(await client.post(WEBHOOKS, headers=text, content=b"{}"), 415)
    hook = await create_hook(client, admin, PUBLIC)
    url = f"{WEBHOOKS}/{hook['id']}"
    bad_patches = [
        {"url": None}, {"events": []}, {"is_active": 1}, {"id": "x"}, {"url": "http://10.0.0.1/"},
    ]  # fmt: skip
    for patch in bad_patches:
        assert_problem(await client.patch(url, headers=admin.headers, json=patch), 422)
    assert_problem(await client.get(f"{WEBHOOKS}/not-an-id", headers=admin.headers), 404)
    assert_problem(await client.get(f"{WEBHOOKS}?limit=0", headers=admin.headers), 422)
    assert_problem(await client.get(f"{WEBHOOKS}?cursor=abc.def", headers=admin.headers), 422)
    assert_problem(await client.get(f"{url}/deliveries?limit=101", headers=admin.headers), 422)
    rotate = f"{url}/rotate-secret"
    for bad in ({"previous_valid_seconds": -1}, {"previous_valid_seconds": "60"}, {"x": 1}):
        assert_problem(await client.post(rotate, headers=admin.headers, json=bad), 422)


async def test_rotating_the_secret_signs_with_both_until_the_old_one_expires(
    client: AsyncClient, actors: Actors, receiver: Receiver
) -> None:
    admin, staff = await actors.admin(), await actors.staff()
    hook = await create_hook(client, admin, receiver.url)
    url = f"{WEBHOOKS}/{hook['id']}/rotate-secret"
    rotated = await client.post(url, headers=admin.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != hook["secret"]
    await create_product(client, staff)
    [request] = await receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, hook["secret"]):  # receivers on either secret accept it
        Webhook(secret).verify(request.body, request.headers)
    revoked = await client.post(url, headers=admin.headers, json={"previous_valid_seconds": 0})
    newest = revoked.json()["secret"]
    await create_product(client, staff)
    second = (await receiver.wait_for(2))[1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    Webhook(newest).verify(second.body, second.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(second.body, second.headers)
