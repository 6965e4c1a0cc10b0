from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from backroom.auth.deps import Principal, StaffUser, Viewer, viewer
from backroom.catalog import queries, service
from backroom.catalog.cache import tombstone
from backroom.catalog.documents import page, parse_uuid
from backroom.catalog.models import MAX_PRICE_CENTS, Product
from backroom.catalog.responses import cache_control, product_response
from backroom.catalog.schemas import (
    ProductCreate,
    ProductPage,
    ProductPatch,
    ProductRead,
    ProductReplace,
    ProductSort,
)
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.errors import Forbidden, NotFound, Unprocessable
from backroom.http import JSON, next_link, no_content, parse_query
from backroom.openapi import problems
from backroom.pagination import decode_cursor, encode_cursor
from backroom.routing import lean, make_router
from backroom.schema import NO_NUL, parse_id

router = make_router(prefix="/products", tags=["catalog"])
Ctx = Annotated[AppContext, Depends(get_context)]
Price = Annotated[int | None, Field(ge=0, le=MAX_PRICE_CENTS)]


class ProductQuery(BaseModel):
    """The listing's query parameters, validated in one pass."""

    q: Annotated[str | None, Field(max_length=200, pattern=NO_NUL)] = None
    category_id: Annotated[str | None, Field(max_length=64)] = None
    min_price: Price = None
    max_price: Price = None
    in_stock: bool = False
    is_active: Annotated[bool | None, Field(description="Staff only.")] = None
    sort: ProductSort = "-created_at"
    limit: Annotated[int, Field(ge=1, le=100, description="Page size, 1-100.")] = 20
    cursor: Annotated[
        str | None, Field(max_length=1024, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
    ] = None


def _is_staff(viewer: Principal | None) -> bool:
    return viewer is not None and viewer.is_staff


async def _published(request: Request, ctx: AppContext, product: Product) -> Response:
    """After a write: read the committed row back (the database may normalise what was
    written: jsonb numbers, key order), refresh the cache with it, and answer with it."""
    entry = await queries.fresh(
        engine=ctx.read_engine, cache=ctx.product_cache, product_id=product.id,
        currency=ctx.settings.currency,
    )  # fmt: skip
    if entry is None:
        raise NotFound("No such product.")
    return product_response(request, entry)


async def _list_products(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    staff = _is_staff(await viewer(request))
    params = parse_query(ProductQuery, request)
    if params.is_active is not None and not staff:
        raise Forbidden("Filtering on is_active is for staff.")
    low, high = params.min_price, params.max_price
    if low is not None and high is not None and low > high:
        raise Unprocessable.field("min_price", "must not exceed max_price")
    category_id = parse_uuid(params.category_id) if params.category_id is not None else None
    if params.category_id is not None and category_id is None:
        return Response(
            page([], None), media_type=JSON, headers={"Cache-Control": cache_control(request)}
        )
    filters = queries.ProductFilters(
        q=params.q, category_id=category_id, min_price=low, max_price=high,
        in_stock=params.in_stock, is_active=params.is_active, sort=params.sort,
    )  # fmt: skip
    key, kind = ctx.settings.signing_key, f"products:{params.sort}"
    cursor = params.cursor
    after = queries.decode_keyset(params.sort, decode_cursor(key, kind, cursor)) if cursor else None
    items, next_key = await queries.list_products(
        engine=ctx.read_engine, filters=filters, staff=staff, limit=params.limit, after=after,
        currency=ctx.settings.currency,
    )  # fmt: skip
    next_cursor = encode_cursor(key, kind, next_key) if next_key else None
    headers = {"Cache-Control": cache_control(request), **next_link(request, next_cursor)}
    return Response(page(items, next_cursor), media_type=JSON, headers=headers)


@router.get("", response_model=ProductPage, responses=problems(401, 403))
@lean(_list_products)
async def list_products(
    request: Request, _viewer: Viewer, _params: Annotated[ProductQuery, Query()]
) -> Response:
    return await _list_products(request)


@router.post("", status_code=201, response_model=ProductRead, responses=problems(401, 403, 409))
async def create_product(
    body: ProductCreate, request: Request, session: SessionDep, ctx: Ctx, staff: StaffUser
) -> Response:
    product = await service.create(
        session=session, data=body, actor_id=staff.id, currency=ctx.settings.currency
    )
    response = await _published(request, ctx, product)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/products/{product.id}"
    return response


@router.get(
    "/by-slug/{slug}",
    response_model=ProductRead,
    responses={**problems(304, 404), 301: {"description": "A former slug: see Location."}},
)
async def read_product_by_slug(slug: str, request: Request, ctx: Ctx, viewer: Viewer) -> Response:
    found = await queries.product_by_slug(
        engine=ctx.read_engine, slug=slug, currency=ctx.settings.currency
    )
    staff = _is_staff(viewer)
    if isinstance(found, tuple):
        current, active = found
        if not (active or staff):
            raise NotFound("No such product.")
        return RedirectResponse(
            f"/api/v1/products/by-slug/{current}",
            status_code=301,
            headers={"Cache-Control": cache_control(request)},  # a former slug can be reused
        )
    if found is None or not (found.is_active or staff):
        raise NotFound("No such product.")
    return product_response(request, found)


async def _read_product(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    staff = _is_staff(await viewer(request))  # first: a bad token is 401 whatever follows
    entry = await queries.product(
        engine=ctx.read_engine, cache=ctx.product_cache,
        product_id=parse_id(request.path_params["product_id"], "product"),
        currency=ctx.settings.currency,
    )  # fmt: skip
    if entry is None or not (entry.is_active or staff):
        raise NotFound("No such product.")
    return product_response(request, entry)


@router.get("/{product_id}", response_model=ProductRead, responses=problems(304, 401, 404))
@lean(_read_product)
async def read_product(product_id: str, request: Request, _viewer: Viewer) -> Response:
    return await _read_product(request)


@router.put(
    "/{product_id}", response_model=ProductRead, responses=problems(401, 403, 404, 409, 412)
)
async def replace_product(
    product_id: str, body: ProductReplace, request: Request, session: SessionDep, ctx: Ctx,
    _staff: StaffUser,
) -> Response:  # fmt: skip
    product = await service.replace(
        session=session, product_id=parse_id(product_id, "product"), data=body,
        if_match=request.headers.get("if-match"), currency=ctx.settings.currency,
    )  # fmt: skip
    return await _published(request, ctx, product)


@router.patch(
    "/{product_id}",
    response_model=ProductRead,
    responses=problems(401, 403, 404, 409, 412),
    openapi_extra={"requestBody": {"content": {"application/merge-patch+json": {
        "schema": {"$ref": "#/components/schemas/ProductPatch"}}}}},
)  # fmt: skip
async def patch_product(
    product_id: str, body: ProductPatch, request: Request, session: SessionDep, ctx: Ctx,
    _staff: StaffUser,
) -> Response:  # fmt: skip
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    product = await service.patch(
        session=session, product_id=parse_id(product_id, "product"), changes=changes,
        if_match=request.headers.get("if-match"), currency=ctx.settings.currency,
    )  # fmt: skip
    return await _published(request, ctx, product)


@router.delete(
    "/{product_id}", status_code=204, response_class=Response,
    responses=problems(401, 403, 404, 412),
)  # fmt: skip
async def delete_product(
    product_id: str, request: Request, session: SessionDep, ctx: Ctx, _staff: StaffUser
) -> Response:
    pid = parse_id(product_id, "product")
    version = await service.delete(
        session=session, product_id=pid, if_match=request.headers.get("if-match"),
        currency=ctx.settings.currency,
    )  # fmt: skip
    await ctx.product_cache.offer(pid, tombstone(version))
    return no_content()
