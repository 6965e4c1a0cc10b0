from __future__ import annotations

import uuid

from httpx import AsyncClient

from tests.factories import PASSWORD, Actors
from tests.test_http_conventions import assert_problem

ME = "/api/v1/users/me"
USERS = "/api/v1/users"


async def test_me_has_an_etag_and_answers_304(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    first = await client.get(ME, headers=user.headers)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert set(body) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "created_at",
        "updated_at",
    }
    etag = first.headers["etag"]
    again = await client.get(ME, headers={**user.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag


async def test_patch_me_with_if_match(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    etag = (await client.get(ME, headers=user.headers)).headers["etag"]
    updated = await client.patch(
        ME, headers={**user.headers, "If-Match": etag}, json={"full_name": "New Name"}
    )
    assert updated.status_code == 200 and updated.json()["full_name"] == "New Name"
    assert updated.headers["etag"] != etag
    stale = await client.patch(
        ME, headers={**user.headers, "If-Match": etag}, json={"full_name": "Other"}
    )
    assert_problem(stale, 412)
    assert_problem(await client.patch(ME, headers=user.headers, json={"full_name": None}), 422)
    assert_problem(await client.patch(ME, headers=user.headers, json={"full_name": ""}), 422)


async def test_admin_lists_users_with_keyset_pages(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    for _ in range(4):
        await actors.customer()
    seen: list[str] = []
    url = f"{USERS}?limit=2"
    while True:
        page = await client.get(url, headers=admin.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [u["id"] for u in body["items"]]
        if body["next_cursor"] is None:
            assert "link" not in page.headers
            break
        assert page.headers["link"].endswith('rel="next"')
        url = page.headers["link"].split(">")[0].lstrip("<")
    assert len(seen) == len(set(seen)) == 5


async def test_bad_list_parameters_are_422(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    for query in ("limit=0", "limit=101", "limit=abc", "cursor=forged", "cursor=eyJ4Ijox.AAAA"):
        assert_problem(await client.get(f"{USERS}?{query}", headers=admin.headers), 422)


async def test_admin_creates_reads_updates_users(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    created = await client.post(
        USERS,
        headers=admin.headers,
        json={
            "email": "staffer@example.com",
            "password": PASSWORD,
            "full_name": "S",
            "role": "staff",
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert (await client.get(location, headers=admin.headers)).json()["role"] == "staff"
    duplicate = await client.post(
        USERS,
        headers=admin.headers,
        json={"email": "STAFFER@example.com", "password": PASSWORD, "full_name": "S"},
    )
    assert_problem(duplicate, 409)
    patched = await client.patch(location, headers=admin.headers, json={"role": "admin"})
    assert patched.json()["role"] == "admin"
    assert_problem(await client.patch(location, headers=admin.headers, json={"role": "god"}), 422)
    assert_problem(
        await client.patch(location, headers=admin.headers, json={"is_active": "no"}), 422
    )


async def test_admin_cannot_demote_or_delete_self(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    me = f"{USERS}/{admin.id}"
    assert_problem(await client.patch(me, headers=admin.headers, json={"role": "staff"}), 409)
    assert_problem(await client.patch(me, headers=admin.headers, json={"is_active": False}), 409)
    assert_problem(await client.delete(me, headers=admin.headers), 409)


async def test_delete_erases_personal_data(client: AsyncClient, actors: Actors) -> None:
    admin, user = await actors.admin(), await actors.customer()
    response = await client.delete(f"{USERS}/{user.id}", headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
    assert_problem(await client.get(f"{USERS}/{user.id}", headers=admin.headers), 404)
    login = await client.post(
        "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}
    )
    assert_problem(login, 401)
    # The email is free again: the erased row keeps no trace of it.
    again = await client.post(
        "/api/v1/auth/register",
        json={"email": user.email, "password": PASSWORD, "full_name": "Back"},
    )
    assert again.status_code == 201
    listing = await client.get(f"{USERS}?limit=100", headers=admin.headers)
    assert str(user.id) not in {u["id"] for u in listing.json()["items"]}


async def test_unknown_and_malformed_ids_are_404(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    assert_problem(await client.get(f"{USERS}/{uuid.uuid4()}", headers=admin.headers), 404)
    assert_problem(await client.get(f"{USERS}/not-an-id", headers=admin.headers), 404)
    assert_problem(await client.delete(f"{USERS}/{uuid.uuid4()}", headers=admin.headers), 404)


async def test_nul_characters_are_422_not_a_database_error(
    client: AsyncClient, actors: Actors
) -> None:
    user = await actors.customer()
    response = await client.patch(ME, headers=user.headers, json={"full_name": "a\u0000b"})
    assert_problem(response, 422)
    login = await client.post("/api/v1/auth/token", json={"email": "a\u0000@x.io", "password": "p"})
    assert_problem(login, 422)
