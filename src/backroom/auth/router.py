from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from backroom.auth import service
from backroom.auth.schemas import RefreshRequest, RegisterRequest, TokenPair, TokenRequest
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.errors import UnsupportedMediaType
from backroom.http import created, is_json_media_type, json_response, no_content, parse_json_body
from backroom.openapi import problems
from backroom.ratelimit import client_address
from backroom.routing import make_router
from backroom.users import service as users
from backroom.users.models import Role
from backroom.users.schemas import UserRead

router = make_router(prefix="/auth", tags=["auth"])
Ctx = Annotated[AppContext, Depends(get_context)]

_TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TokenRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string", "maxLength": 320},
                        "password": {"type": "string", "maxLength": 1024},
                    },
                }
            },
        },
    }
}


@router.post("/register", status_code=201, response_model=UserRead, responses=problems(409))
async def register(
    body: RegisterRequest, request: Request, session: SessionDep, ctx: Ctx
) -> Response:
    user = await users.create(
        session=session,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        role=Role.CUSTOMER,
        min_password_length=ctx.settings.password_min_length,
    )
    return created(request, UserRead.model_validate(user), f"/api/v1/users/{user.id}")


@router.post(
    "/token",
    response_model=TokenPair,
    responses=problems(400, 401, 413, 415, 422),
    openapi_extra=_TOKEN_BODY,
)
async def token(request: Request, session: SessionDep, ctx: Ctx) -> Response:
    """Sign in with JSON ``{email, password}`` or the OAuth2 password form."""
    credentials = await _read_credentials(request)
    pair = await service.login(
        session=session,
        settings=ctx.settings,
        limiter=ctx.limiter,
        email=credentials.email,
        password=credentials.password,
        address=client_address(request.scope),
    )
    return json_response(request, pair)


@router.post("/refresh", response_model=TokenPair, responses=problems(401))
async def refresh(
    body: RefreshRequest, request: Request, session: SessionDep, ctx: Ctx
) -> Response:
    pair = await service.refresh(session=session, settings=ctx.settings, token=body.refresh_token)
    return json_response(request, pair)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await service.logout(session=session, token=body.refresh_token)
    return no_content()


async def _read_credentials(request: Request) -> TokenRequest:
    content_type = request.headers.get("content-type", "")
    if is_json_media_type(content_type):
        return parse_json_body(TokenRequest, await request.body())
    if content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
        async with request.form(max_files=0, max_fields=10) as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        candidate = {"email": fields.get("username"), "password": fields.get("password")}
        import orjson

        return parse_json_body(TokenRequest, orjson.dumps(candidate))
    raise UnsupportedMediaType("Send JSON or an OAuth2 password form.")
