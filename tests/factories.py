"""Test data: users of each role, signed in through the real API."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from fastapi import FastAPI
from httpx import AsyncClient

from backroom.users import service as users
from backroom.users.models import Role

PASSWORD = "correct-horse-battery-9"
_counter = itertools.count()


@dataclass
class Actor:
    id: uuid.UUID
    email: str
    password: str
    role: Role
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


class Actors:
    def __init__(self, app: FastAPI, client: AsyncClient) -> None:
        self.app = app
        self.client = client

    async def create(self, role: Role = Role.CUSTOMER, email: str | None = None) -> Actor:
        email = email or f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
        ctx = self.app.state.ctx
        async with ctx.sessionmaker() as session:
            user = await users.create(
                session=session,
                email=email,
                password=PASSWORD,
                full_name=f"Test {role.value}",
                role=role,
                min_password_length=ctx.settings.password_min_length,
            )
        response = await self.client.post(
            "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        return Actor(
            id=user.id,
            email=email,
            password=PASSWORD,
            role=role,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )

    async def customer(self) -> Actor:
        return await self.create(Role.CUSTOMER)

    async def staff(self) -> Actor:
        return await self.create(Role.STAFF)

    async def admin(self) -> Actor:
        return await self.create(Role.ADMIN)
