"""Who is calling: the bearer token becomes a ``Principal``; role gates are dependencies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from backroom.auth import tokens
from backroom.context import AppContext, get_context
from backroom.errors import Forbidden, Unauthorized
from backroom.users.models import Role

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True, slots=True)
class Principal:
    id: uuid.UUID
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role.at_least(Role.STAFF)


async def get_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    ctx: Annotated[AppContext, Depends(get_context)],
) -> Principal:
    if not token:
        raise Unauthorized("A bearer token is required.")
    try:
        claims = tokens.decode_access(ctx.settings.signing_key, token)
    except tokens.InvalidToken:
        raise Unauthorized("The token is invalid or has expired.") from None
    state = await ctx.user_states.get(claims.user_id)
    if state is None or not state.is_active or claims.issued_at < state.tokens_valid_after:
        raise Unauthorized("The token has been revoked.")
    decision = await ctx.limiter.hit(ctx.limiter.per_user, "user", str(claims.user_id))
    if not decision.allowed:
        raise decision.error()
    request.state.user_id = str(claims.user_id)
    return Principal(claims.user_id, state.role)


async def get_optional_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    ctx: Annotated[AppContext, Depends(get_context)],
) -> Principal | None:
    """The caller if a token was sent (and valid), else None: for endpoints open to anyone."""
    if not token:
        return None
    return await get_principal(request, token, ctx)


def require(role: Role) -> object:
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.role.at_least(role):
            raise Forbidden(f"This requires the {role.value} role.")
        return principal

    return Depends(dependency)


async def viewer(request: Request) -> Principal | None:
    """The caller of a public read, if a bearer token came with it (an invalid one is 401).

    Deliberately not built from the dependencies above: public catalog reads are the
    hottest routes, and each FastAPI dependency level costs CPU on every request.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("A bearer token is required.")
    return await get_principal(request, token, request.app.state.ctx)


Viewer = Annotated[Principal | None, Depends(viewer)]
CurrentUser = Annotated[Principal, Depends(get_principal)]
OptionalUser = Annotated[Principal | None, Depends(get_optional_principal)]
StaffUser = Annotated[Principal, require(Role.STAFF)]
AdminUser = Annotated[Principal, require(Role.ADMIN)]
