"""Sign-ins and profile writes racing each other: never a 500, never 'database is locked'."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient

from tests.factories import PASSWORD, Actors


async def test_concurrent_sign_ins_all_succeed(client: AsyncClient, actors: Actors) -> None:
    users = [await actors.customer() for _ in range(4)]

    async def sign_in(email: str) -> int:
        response = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        )
        return response.status_code

    statuses = await asyncio.gather(*(sign_in(u.email) for u in users for _ in range(4)))
    assert statuses == [200] * 16


async def test_concurrent_profile_updates_all_succeed(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()

    async def rename(i: int) -> int:
        response = await client.patch(
            "/api/v1/users/me", headers=user.headers, json={"full_name": f"Name {i}"}
        )
        return response.status_code

    assert await asyncio.gather(*(rename(i) for i in range(12))) == [200] * 12


async def test_reactivation_does_not_revive_old_tokens(client: AsyncClient, actors: Actors) -> None:
    user, admin = await actors.customer(), await actors.admin()
    url = f"/api/v1/users/{user.id}"
    await client.patch(url, headers=admin.headers, json={"is_active": False})
    await client.patch(url, headers=admin.headers, json={"is_active": True})
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 401
    fresh = await client.post(
        "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}
    )
    assert fresh.status_code == 200


async def test_token_responses_are_never_cached(client: AsyncClient, actors: Actors) -> None:
    user = await actors.customer()
    response = await client.put(
        "/api/v1/users/me/password",
        headers=user.headers,
        json={"current_password": "wrong-password-9", "new_password": "x"},
    )
    assert response.status_code == 422
    assert response.headers["cache-control"] == "no-store"
