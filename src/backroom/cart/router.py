from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from backroom.auth.deps import CurrentUser
from backroom.cart import service
from backroom.cart.schemas import CartRead, CouponCode, ItemQuantity
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.http import json_response, no_content
from backroom.openapi import problems
from backroom.routing import make_router
from backroom.schema import parse_id

router = make_router(prefix="/cart", tags=["cart"], responses=problems(401))
Ctx = Annotated[AppContext, Depends(get_context)]


async def _cart(request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser) -> Response:
    cart = await service.view(session=session, user_id=user.id, settings=ctx.settings)
    return json_response(request, cart)


@router.get("", response_model=CartRead)
async def read_cart(request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser) -> Response:
    return await _cart(request, session, ctx, user)


@router.delete("", status_code=204, response_class=Response)
async def clear_cart(session: SessionDep, user: CurrentUser) -> Response:
    await service.clear(session=session, user_id=user.id)
    return no_content()


@router.put("/items/{product_id}", response_model=CartRead, responses=problems(404))
async def set_item(
    product_id: str, body: ItemQuantity, request: Request, session: SessionDep, ctx: Ctx,
    user: CurrentUser,
) -> Response:  # fmt: skip
    pid = parse_id(product_id, "product")
    await service.set_item(session=session, user_id=user.id, product_id=pid, quantity=body.quantity)
    return await _cart(request, session, ctx, user)


@router.delete("/items/{product_id}", response_model=CartRead, responses=problems(404))
async def remove_item(
    product_id: str, request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser
) -> Response:
    pid = parse_id(product_id, "product")
    await service.remove_item(session=session, user_id=user.id, product_id=pid)
    return await _cart(request, session, ctx, user)


@router.put("/coupon", response_model=CartRead)
async def apply_coupon(
    body: CouponCode, request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser
) -> Response:
    await service.apply_coupon(session=session, user_id=user.id, code=body.code)
    return await _cart(request, session, ctx, user)


@router.delete("/coupon", response_model=CartRead)
async def remove_coupon(
    request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser
) -> Response:
    await service.remove_coupon(session=session, user_id=user.id)
    return await _cart(request, session, ctx, user)
