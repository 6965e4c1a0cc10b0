from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from backroom.auth.deps import StaffUser
from backroom.context import AppContext, get_context
from backroom.coupons import service
from backroom.coupons.schemas import CouponCreate, CouponPage, CouponPatch, CouponRead
from backroom.db import SessionDep
from backroom.http import created, json_response, next_link, no_content
from backroom.openapi import problems
from backroom.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, keyset
from backroom.routing import make_router
from backroom.schema import parse_id

router = make_router(prefix="/coupons", tags=["coupons"], responses=problems(401, 403))
Ctx = Annotated[AppContext, Depends(get_context)]


@router.get("", response_model=CouponPage)
async def list_coupons(
    request: Request, session: SessionDep, ctx: Ctx, _staff: StaffUser,
    limit: LimitQuery = 20, cursor: CursorQuery = None,
) -> Response:  # fmt: skip
    key = ctx.settings.signing_key
    after = keyset(decode_cursor(key, "coupons", cursor), timestamp=False) if cursor else None
    rows, next_key = await service.list_(session=session, limit=limit, after=after)
    next_cursor = encode_cursor(key, "coupons", next_key) if next_key else None
    page = CouponPage(items=[CouponRead.model_validate(c) for c in rows], next_cursor=next_cursor)
    return json_response(request, page, headers=next_link(request, next_cursor))


@router.post("", status_code=201, response_model=CouponRead, responses=problems(409))
async def create_coupon(
    body: CouponCreate, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    coupon = await service.create(session=session, data=body)
    return created(
        request, CouponRead.model_validate(coupon), f"/api/v1/coupons/{coupon.id}", etag=True
    )


@router.get("/{coupon_id}", response_model=CouponRead, responses=problems(304, 404))
async def read_coupon(
    coupon_id: str, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    coupon = await service.get(session=session, coupon_id=parse_id(coupon_id, "coupon"))
    return json_response(request, CouponRead.model_validate(coupon), etag=True)


@router.patch("/{coupon_id}", response_model=CouponRead, responses=problems(404, 409))
async def patch_coupon(
    coupon_id: str, body: CouponPatch, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    coupon = await service.patch(
        session=session, coupon_id=parse_id(coupon_id, "coupon"),
        changes=body.model_dump(exclude_unset=True),
    )  # fmt: skip
    return json_response(request, CouponRead.model_validate(coupon), etag=True)


@router.delete("/{coupon_id}", status_code=204, response_class=Response, responses=problems(404))
async def delete_coupon(coupon_id: str, session: SessionDep, _staff: StaffUser) -> Response:
    await service.delete(session=session, coupon_id=parse_id(coupon_id, "coupon"))
    return no_content()
