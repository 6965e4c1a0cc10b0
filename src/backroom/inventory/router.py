from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from backroom.auth.deps import StaffUser
from backroom.catalog.cache import tombstone
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.http import created, json_response, next_link
from backroom.inventory import service
from backroom.inventory.models import Reason
from backroom.inventory.schemas import MovementCreate, MovementPage, MovementRead
from backroom.openapi import problems
from backroom.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, keyset
from backroom.routing import make_router
from backroom.schema import parse_id

router = make_router(prefix="/products/{product_id}/stock-movements", tags=["inventory"])
Ctx = Annotated[AppContext, Depends(get_context)]


@router.post(
    "", status_code=201, response_model=MovementRead, responses=problems(401, 403, 404, 409)
)
async def record_movement(
    product_id: str, body: MovementCreate, request: Request, session: SessionDep, ctx: Ctx,
    staff: StaffUser,
) -> Response:  # fmt: skip
    pid = parse_id(product_id, "product")
    applied = await service.record(
        session=session, product_id=pid, delta=body.delta, reason=Reason(body.reason),
        note=body.note, actor_id=staff.id, low_stock_threshold=ctx.settings.low_stock_threshold,
    )  # fmt: skip
    await ctx.product_cache.offer(pid, tombstone(applied.version))
    movement = MovementRead.model_validate(applied.movement)
    location = f"/api/v1/products/{pid}/stock-movements/{movement.id}"
    return created(request, movement, location)


@router.get("", response_model=MovementPage, responses=problems(401, 403, 404))
async def list_movements(
    product_id: str, request: Request, session: SessionDep, ctx: Ctx, _staff: StaffUser,
    limit: LimitQuery = 20, cursor: CursorQuery = None,
) -> Response:  # fmt: skip
    key = ctx.settings.signing_key
    pid = parse_id(product_id, "product")
    kind = f"movements:{pid}"  # a cursor only pages the ledger it came from
    after = keyset(decode_cursor(key, kind, cursor), timestamp=True) if cursor else None
    rows, next_key = await service.list_(session=session, product_id=pid, limit=limit, after=after)
    next_cursor = encode_cursor(key, kind, next_key) if next_key else None
    body = MovementPage(
        items=[MovementRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )
    return json_response(request, body, headers=next_link(request, next_cursor))


@router.get("/{movement_id}", response_model=MovementRead, responses=problems(401, 403, 404))
async def read_movement(
    product_id: str, movement_id: str, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    movement = await service.get(
        session=session,
        product_id=parse_id(product_id, "product"),
        movement_id=parse_id(movement_id, "movement"),
    )
    return json_response(request, MovementRead.model_validate(movement), etag=True)
