from __future__ import annotations

import statistics
import time

import pytest
from httpx import AsyncClient

from backroom.users.models import Role
from tests.factories import PASSWORD, Actors
from tests.test_http_conventions import assert_problem

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"


async def test_register_creates_a_customer(client: AsyncClient) -> None:
    response = await client.post(
        REGISTER, json={"email": "Ann@Example.com", "password": PASSWORD, "full_name": "Ann"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/users/{body['id']}"
    assert body["role"] == "customer" and body["email"] == "ann@example.com"
    assert body["is_active"] is True
    assert body["created_at"].endswith("Z")
    assert not {"password", "password_hash"} & body.keys()


async def test_duplicate_email_is_409_case_insensitively(client: AsyncClient) -> None:
    payload = {"email": "bob@example.com", "password": PASSWORD, "full_name": "Bob"}
    assert (await client.post(REGISTER, json=payload)).status_code == 201
    payload["email"] = "BOB@example.COM"
    assert_problem(await client.post(REGISTER, json=payload), 409)


@pytest.mark.parametrize(
    "password",
    ["short-pw", "x" * 129, "password1234", "qwerty123456", "aaaaaaaaaaaaaa"],
)
async def test_weak_passwords_are_422(client: AsyncClient, password: str) -> None:
    response = await client.post(
        REGISTER, json={"email": "weak@example.com", "password": password, "full_name": "W"}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "password"


async def test_invalid_email_is_422(client: AsyncClient) -> None:
    response = await client.post(
        REGISTER, json={"email": "not-an-email", "password": PASSWORD, "full_name": "W"}
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "email"


async def test_token_with_json_and_with_oauth2_form(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    as_json = await client.post(TOKEN, json={"email": user.email, "password": PASSWORD})
    as_form = await client.post(TOKEN, data={"username": user.email, "password": PASSWORD})
    for response in (as_json, as_form):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 900
        assert response.headers["cache-control"] == "no-store"
        me = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.json()["id"] == str(user.id)


async def test_wrong_password_and_unknown_email_look_the_same(
    client: AsyncClient, actors: Actors
) -> None:
    user = await actors.customer()
    wrong = await client.post(TOKEN, json={"email": user.email, "password": "nope-nope-nope"})
    unknown = await client.post(
        TOKEN, json={"email": "ghost@example.com", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


async def test_unknown_email_costs_a_password_hash_too(client: AsyncClient, actors: Actors) -> None:
    """Timing: both failures verify an argon2 hash, so neither is much faster."""
    user = await actors.customer()

    async def timed(email: str) -> float:
        started = time.perf_counter()
        await client.post(TOKEN, json={"email": email, "password": "nope-nope-nope"})
        return time.perf_counter() - started

    known = statistics.median([await timed(user.email) for _ in range(3)])
    unknown = statistics.median([await timed(f"ghost{i}@example.com") for i in range(3)])
    assert 1 / 3 < unknown / known < 3


async def test_form_token_missing_fields_is_422(client: AsyncClient) -> None:
    assert_problem(await client.post(TOKEN, data={"username": "a@example.com"}), 422)
    assert_problem(
        await client.post(TOKEN, content=b"x", headers={"Content-Type": "text/plain"}), 415
    )


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: AsyncClient, actors: Actors
) -> None:
    user = await actors.customer()
    first = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != user.refresh_token
    # The spent token comes back (a thief replaying it): 401, and the family dies.
    assert_problem(await client.post(REFRESH, json={"refresh_token": user.refresh_token}), 401)
    assert_problem(await client.post(REFRESH, json={"refresh_token": rotated}), 401)


async def test_logout_revokes_the_family(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    response = await client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    assert_problem(await client.post(REFRESH, json={"refresh_token": user.refresh_token}), 401)
    unknown = await client.post("/api/v1/auth/logout", json={"refresh_token": "never-issued"})
    assert unknown.status_code == 204


async def test_password_change_revokes_every_token(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    new_password = "another-long-secret-77"
    response = await client.put(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert response.status_code == 204
    assert_problem(await client.get("/api/v1/users/me", headers=user.headers), 401)
    assert_problem(await client.post(REFRESH, json={"refresh_token": user.refresh_token}), 401)
    assert_problem(await client.post(TOKEN, json={"email": user.email, "password": PASSWORD}), 401)
    fresh = await client.post(TOKEN, json={"email": user.email, "password": new_password})
    assert fresh.status_code == 200
    headers = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200


async def test_password_change_needs_the_current_password(
    client: AsyncClient, actors: Actors
) -> None:
    user = await actors.customer()
    response = await client.put(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": "wrong-password-1", "new_password": "another-long-secret-77"},
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "current_password"


async def test_failed_logins_are_throttled_per_account(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    statuses = [
        (
            await client.post(TOKEN, json={"email": user.email, "password": "bad-password-x"})
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    blocked = await client.post(TOKEN, json={"email": user.email, "password": PASSWORD})
    body = assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) >= 1
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= blocked.headers.keys()
    assert body["status"] == 429


async def test_failed_logins_are_throttled_per_address(make_settings) -> None:  # type: ignore[no-untyped-def]
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(rate_limit_login_address="3/minute"))
    async with LifespanManager(application):
        transport = ASGITransport(app=application, client=("10.1.2.3", 1))
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            for i in range(3):
                failed = await http.post(
                    TOKEN, json={"email": f"u{i}@example.com", "password": "x"}
                )
                assert failed.status_code == 401
            blocked = await http.post(TOKEN, json={"email": "u9@example.com", "password": "x"})
            assert_problem(blocked, 429)


async def test_rate_limit_off_disables_throttling(make_settings) -> None:  # type: ignore[no-untyped-def]
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(rate_limit="off", rate_limit_login_account="1/minute"))
    async with (
        LifespanManager(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as http,
    ):
        for _ in range(3):
            response = await http.post(TOKEN, json={"email": "a@example.com", "password": "x"})
            assert response.status_code == 401
            assert "ratelimit-limit" not in response.headers


async def test_requests_are_limited_per_address(make_settings) -> None:  # type: ignore[no-untyped-def]
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(rate_limit_anonymous="5/minute"))
    async with (
        LifespanManager(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as http,
    ):
        responses = [await http.get("/api/v1/users/me") for _ in range(6)]
        assert [r.status_code for r in responses] == [401] * 5 + [429]
        assert responses[0].headers["ratelimit-limit"] == "5"
        assert responses[4].headers["ratelimit-remaining"] == "0"
        assert int(responses[5].headers["retry-after"]) >= 1
        assert (await http.get("/healthz")).status_code == 200  # operations are exempt


async def test_requests_are_limited_per_user(make_settings) -> None:  # type: ignore[no-untyped-def]
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(rate_limit_user="3/minute"))
    async with (
        LifespanManager(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as http,
    ):
        user = await Actors(application, http).create(Role.CUSTOMER)
        codes = [
            (await http.get("/api/v1/users/me", headers=user.headers)).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
