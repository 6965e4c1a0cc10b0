"""A short-lived, per-process cache of what every authenticated request needs to know
about its user: role, active flag, and the instant before which tokens are void.

Entries live 30 s, so a deactivation, role change or password change reaches
every instance within the contract's 60 s without a query on every request.
Changes made by this process invalidate its entry at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backroom.db import Prepared
from backroom.users.models import Role, User

TTL_SECONDS = 30
_STATE = Prepared(
    select(User.role, User.is_active, User.tokens_valid_after).where(
        User.id == bindparam("user_id"), User.erased_at.is_(None)
    )
)


@dataclass(frozen=True, slots=True)
class UserState:
    role: Role
    is_active: bool
    tokens_valid_after: datetime


class UserStateCache:
    def __init__(self, read_engine: AsyncEngine, *, enabled: bool) -> None:
        self._engine = read_engine
        self._cache: TTLCache[uuid.UUID, UserState | None] = TTLCache(
            maxsize=100_000 if enabled else 0, ttl=TTL_SECONDS
        )

    async def get(self, user_id: uuid.UUID) -> UserState | None:
        try:
            return self._cache[user_id]
        except KeyError:
            pass
        row = await _STATE.one(self._engine, {"user_id": user_id})
        state = None
        if row is not None:
            state = UserState(Role(row["role"]), row["is_active"], row["tokens_valid_after"])
        if self._cache.maxsize:
            self._cache[user_id] = state
        return state

    def invalidate(self, user_id: uuid.UUID) -> None:
        self._cache.pop(user_id, None)
