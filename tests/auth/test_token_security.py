"""Forged, altered, expired and misdirected tokens are all 401; roles can't be escalated."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from httpx import AsyncClient

from backroom.config import Settings
from tests.factories import Actors
from tests.test_http_conventions import assert_problem

ME = "/api/v1/users/me"


def _b64(data: dict) -> str:  # type: ignore[type-arg]
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: str, **overrides: object) -> dict:  # type: ignore[type-arg]
    now = int(time.time())
    claims = {
        "iss": "backroom", "aud": "backroom-api", "sub": user_id,
        "iat": now, "exp": now + 600, "jti": "abc",
    }  # fmt: skip
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def _assert_rejected(client: AsyncClient, token: str) -> None:
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_altered_signature_is_rejected(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    head, body, sig = user.access_token.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    await _assert_rejected(client, f"{head}.{body}.{flipped}")


async def test_altered_payload_is_rejected(client: AsyncClient, actors: Actors) -> None:
    user, admin = await actors.customer(), await actors.admin()
    head, _body, sig = user.access_token.split(".")
    forged_body = _b64(_claims(str(admin.id)))
    await _assert_rejected(client, f"{head}.{forged_body}.{sig}")


async def test_alg_none_is_rejected(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(str(user.id)))}."
    await _assert_rejected(client, token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 10},
        {"aud": "someone-else"},
        {"iss": "evil"},
        {"jti": None},
        {"sub": "not-a-uuid"},
    ],
)
async def test_bad_claims_are_rejected(
    client: AsyncClient,
    actors: Actors,
    settings: Settings,
    overrides: dict,  # type: ignore[type-arg]
) -> None:
    user = await actors.customer()
    token = jwt.encode(_claims(str(user.id), **overrides), settings.signing_key, algorithm="HS256")
    await _assert_rejected(client, token)


async def test_other_algorithm_with_the_key_is_rejected(
    client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    user = await actors.customer()
    token = jwt.encode(_claims(str(user.id)), settings.signing_key, algorithm="HS512")
    await _assert_rejected(client, token)


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer x.y.z", "Token abc"]
)
async def test_malformed_authorization_is_401(client: AsyncClient, header: str) -> None:
    response = await client.get(ME, headers={"Authorization": header})
    assert_problem(response, 401)


async def test_customer_cannot_reach_admin_endpoints(client: AsyncClient, actors: Actors) -> None:
    customer, staff = await actors.customer(), await actors.staff()
    for who in (customer, staff):
        assert_problem(await client.get("/api/v1/users", headers=who.headers), 403)
        assert_problem(await client.get(f"/api/v1/users/{customer.id}", headers=who.headers), 403)
        created = await client.post(
            "/api/v1/users",
            headers=who.headers,
            json={"email": "x@example.com", "password": "long-enough-pass-1", "full_name": "X"},
        )
        assert_problem(created, 403)


async def test_role_escalation_through_me_is_422(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    for field, value in (("role", "admin"), ("is_active", True), ("email", "x@example.com")):
        response = await client.patch(ME, headers=user.headers, json={field: value})
        assert assert_problem(response, 422)["errors"][0]["field"] == field
    me = await client.get(ME, headers=user.headers)
    assert me.json()["role"] == "customer"


async def test_deactivated_user_is_locked_out(client: AsyncClient, actors: Actors) -> None:
    user, admin = await actors.customer(), await actors.admin()
    response = await client.patch(
        f"/api/v1/users/{user.id}", headers=admin.headers, json={"is_active": False}
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    await _assert_rejected(client, user.access_token)
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert_problem(refresh, 401)
    login = await client.post(
        "/api/v1/auth/token", json={"email": user.email, "password": user.password}
    )
    assert_problem(login, 401)
