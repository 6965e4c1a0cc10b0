"""Who is calling: the bearer token becomes a ``Principal``; role gates are dependencies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from backroom.auth import tokens
from backroom.context import AppContext
from backroom.errors import Forbidden, Unauthorized
from backroom.users.models import Role

# The bearer scheme is documented in OpenAPI by backroom.openapi (so Swagger UI's
# "Authorize" works); the dependencies below read the header themselves, because
# each FastAPI dependency level costs CPU on every authenticated request.


@dataclass(frozen=True, slots=True)
class Principal:
    id: uuid.UUID
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role.at_least(Role.STAFF)


def _bearer(header: str | None) -> str:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required.")
    return token.strip()


async def authenticate(request: Request, token: str, ctx: AppContext) -> Principal:
    """Verify the token, then the user's current state (cached 30 s), then the per-user limit."""
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
    request.state.access_claims = claims  # a long-lived response re-checks its expiry
    return Principal(claims.user_id, state.role)


async def get_principal(request: Request) -> Principal:
    token = _bearer(request.headers.get("authorization"))
    return await authenticate(request, token, request.app.state.ctx)


async def viewer(request: Request) -> Principal | None:
    """The caller of a public read, if a bearer token came with it (an invalid one is 401)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    return await authenticate(request, _bearer(header), request.app.state.ctx)


def require(role: Role) -> object:
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.role.at_least(role):
            raise Forbidden(f"This requires the {role.value} role.")
        return principal

    return Depends(dependency)


Viewer = Annotated[Principal | None, Depends(viewer)]
CurrentUser = Annotated[Principal, Depends(get_principal)]
StaffUser = Annotated[Principal, require(Role.STAFF)]
AdminUser = Annotated[Principal, require(Role.ADMIN)]
