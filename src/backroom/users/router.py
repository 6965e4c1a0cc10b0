from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from backroom.auth.deps import AdminUser, CurrentUser
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.errors import Unprocessable
from backroom.http import (
    check_if_match,
    created,
    etag_of,
    json_response,
    model_bytes,
    next_link,
    no_content,
)
from backroom.openapi import problems
from backroom.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, keyset
from backroom.routing import make_router
from backroom.schema import InputModel, parse_id
from backroom.users import service
from backroom.users.models import Role, User
from backroom.users.schemas import (
    PasswordChange,
    UserAdminUpdate,
    UserCreate,
    UserPage,
    UserRead,
    UserSelfUpdate,
)

router = make_router(prefix="/users", tags=["users"], responses=problems(401))
Ctx = Annotated[AppContext, Depends(get_context)]


async def _me(principal: CurrentUser, session: SessionDep) -> User:
    return await service.get(session=session, user_id=principal.id)


async def _user(user_id: str, session: SessionDep, _admin: AdminUser) -> User:
    return await service.get(session=session, user_id=parse_id(user_id, "user"))


Me = Annotated[User, Depends(_me)]
TargetUser = Annotated[User, Depends(_user)]


def _changes(body: InputModel) -> dict[str, Any]:
    """Fields the client sent; null is not a value any of them may take."""
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise Unprocessable.field(field, "may not be null")
    return changes


def _read(request: Request, user: User, status: int = 200) -> Response:
    return json_response(request, UserRead.model_validate(user), status=status, etag=True)


def _guard(request: Request, user: User) -> None:
    check_if_match(request, etag_of(model_bytes(UserRead.model_validate(user))))


@router.get("/me", response_model=UserRead, responses=problems(304))
async def read_me(request: Request, principal: CurrentUser, ctx: Ctx) -> Response:
    user = await service.read(engine=ctx.read_engine, user_id=principal.id)
    return json_response(request, user, etag=True)


@router.patch("/me", response_model=UserRead, responses=problems(412))
async def update_me(
    body: UserSelfUpdate, request: Request, me: Me, session: SessionDep
) -> Response:
    _guard(request, me)
    user = await service.update_profile(session=session, user=me, changes=_changes(body))
    return _read(request, user)


@router.put("/me/password", status_code=204, response_class=Response)
async def change_password(body: PasswordChange, me: Me, session: SessionDep, ctx: Ctx) -> Response:
    await service.change_password(
        session=session,
        user=me,
        current=body.current_password,
        new=body.new_password,
        min_password_length=ctx.settings.password_min_length,
    )
    ctx.user_states.invalidate(me.id)
    return no_content()


@router.get("", response_model=UserPage, responses=problems(403))
async def list_users(
    request: Request, session: SessionDep, ctx: Ctx, _admin: AdminUser,
    limit: LimitQuery = 20, cursor: CursorQuery = None,
) -> Response:  # fmt: skip
    key = ctx.settings.signing_key
    after = keyset(decode_cursor(key, "users", cursor), timestamp=True) if cursor else None
    rows, next_key = await service.list_(session=session, limit=limit, after=after)
    next_cursor = encode_cursor(key, "users", next_key) if next_key else None
    page = UserPage(items=[UserRead.model_validate(u) for u in rows], next_cursor=next_cursor)
    return json_response(request, page, headers=next_link(request, next_cursor))


@router.post("", status_code=201, response_model=UserRead, responses=problems(403, 409))
async def create_user(
    body: UserCreate, request: Request, session: SessionDep, ctx: Ctx, _admin: AdminUser
) -> Response:
    user = await service.create(
        session=session,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        role=Role(body.role),
        min_password_length=ctx.settings.password_min_length,
    )
    return created(request, UserRead.model_validate(user), f"/api/v1/users/{user.id}", etag=True)


@router.get("/{user_id}", response_model=UserRead, responses=problems(304, 403, 404))
async def read_user(request: Request, user: TargetUser) -> Response:
    return _read(request, user)


@router.patch("/{user_id}", response_model=UserRead, responses=problems(403, 404, 409, 412))
async def update_user(
    body: UserAdminUpdate, request: Request, user: TargetUser, session: SessionDep,
    ctx: Ctx, admin: AdminUser,
) -> Response:  # fmt: skip
    _guard(request, user)
    changes = _changes(body)
    user = await service.admin_update(
        session=session, user=user, changes=changes, actor_id=admin.id
    )
    ctx.user_states.invalidate(user.id)
    return _read(request, user)


@router.delete(
    "/{user_id}", status_code=204, response_class=Response, responses=problems(403, 404, 409, 412)
)
async def delete_user(
    request: Request, user: TargetUser, session: SessionDep, ctx: Ctx, admin: AdminUser
) -> Response:
    _guard(request, user)
    await service.erase(session=session, user=user, actor_id=admin.id)
    ctx.user_states.invalidate(user.id)
    return no_content()
