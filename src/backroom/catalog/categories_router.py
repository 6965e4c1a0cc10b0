from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.responses import Response

from backroom.auth.deps import StaffUser, Viewer
from backroom.catalog import categories as service
from backroom.catalog import queries
from backroom.catalog.documents import category_document, dumps, http_date, page, parse_uuid
from backroom.catalog.models import Category
from backroom.catalog.responses import cache_control, representation
from backroom.catalog.schemas import (
    CategoryCreate,
    CategoryPage,
    CategoryPatch,
    CategoryRead,
    CategoryReplace,
)
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.errors import NotFound
from backroom.http import JSON, etag_of, next_link, no_content
from backroom.openapi import problems
from backroom.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, keyset
from backroom.routing import make_router
from backroom.schema import parse_id

router = make_router(prefix="/categories", tags=["catalog"])
Ctx = Annotated[AppContext, Depends(get_context)]


def _response(
    request: Request, row: Any, *, status: int = 200, location: str | None = None
) -> Response:
    body = dumps(category_document(row))
    modified = http_date(row["updated_at"]) if "updated_at" in row else None
    return representation(request, body, etag_of(body), modified, status=status, location=location)


def _row(category: Category) -> dict[str, Any]:
    keys = ("id", "name", "slug", "parent_id", "description", "updated_at")
    return {k: getattr(category, k) for k in keys}


@router.get("", response_model=CategoryPage, responses=problems(401))
async def list_categories(
    request: Request,
    ctx: Ctx,
    _viewer: Viewer,
    parent_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Response:
    key = ctx.settings.signing_key
    after = keyset(decode_cursor(key, "categories", cursor), timestamp=False) if cursor else None
    parent = parse_uuid(parent_id) if parent_id is not None else None
    if parent_id is not None and parent is None:
        return Response(
            page([], None), media_type=JSON, headers={"Cache-Control": cache_control(request)}
        )
    items, next_key = await queries.list_categories(
        engine=ctx.read_engine, limit=limit, after=after, parent_id=parent
    )
    next_cursor = encode_cursor(key, "categories", next_key) if next_key else None
    headers = {"Cache-Control": cache_control(request), **next_link(request, next_cursor)}
    return Response(page(items, next_cursor), media_type=JSON, headers=headers)


@router.post("", status_code=201, response_model=CategoryRead, responses=problems(401, 403, 409))
async def create_category(
    body: CategoryCreate, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    category = await service.create(session=session, data=body)
    location = f"/api/v1/categories/{category.id}"
    return _response(request, _row(category), status=201, location=location)


@router.get("/{category_id}", response_model=CategoryRead, responses=problems(304, 401, 404))
async def read_category(category_id: str, request: Request, ctx: Ctx, _viewer: Viewer) -> Response:
    row = await queries.category(
        engine=ctx.read_engine, category_id=parse_id(category_id, "category")
    )
    if row is None:
        raise NotFound("No such category.")
    return _response(request, row)


@router.put(
    "/{category_id}", response_model=CategoryRead, responses=problems(401, 403, 404, 409, 412)
)
async def replace_category(
    category_id: str, body: CategoryReplace, request: Request, session: SessionDep,
    _staff: StaffUser,
) -> Response:  # fmt: skip
    category = await service.replace(
        session=session, category_id=parse_id(category_id, "category"), data=body,
        if_match=request.headers.get("if-match"),
    )  # fmt: skip
    return _response(request, _row(category))


@router.patch(
    "/{category_id}", response_model=CategoryRead, responses=problems(401, 403, 404, 409, 412)
)
async def patch_category(
    category_id: str, body: CategoryPatch, request: Request, session: SessionDep,
    _staff: StaffUser,
) -> Response:  # fmt: skip
    category = await service.patch(
        session=session, category_id=parse_id(category_id, "category"),
        changes=body.model_dump(exclude_unset=True), if_match=request.headers.get("if-match"),
    )  # fmt: skip
    return _response(request, _row(category))


@router.delete(
    "/{category_id}", status_code=204, response_class=Response,
    responses=problems(401, 403, 404, 409, 412),
)  # fmt: skip
async def delete_category(
    category_id: str, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    await service.delete(
        session=session, category_id=parse_id(category_id, "category"),
        if_match=request.headers.get("if-match"),
    )  # fmt: skip
    return no_content()
