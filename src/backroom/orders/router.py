from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from backroom.auth.deps import CurrentUser, Principal, StaffUser
from backroom.catalog.cache import tombstone
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
from backroom.errors import Forbidden
from backroom.http import created, json_response, next_link
from backroom.idempotency import service as idempotency
from backroom.openapi import problems
from backroom.orders import lifecycle, service
from backroom.orders.models import Order, OrderLine, OrderStatus
from backroom.orders.schemas import (
    OrderCreate,
    OrderEventRead,
    OrderHistory,
    OrderPage,
    OrderRead,
    PayRequest,
    ShipRequest,
)
from backroom.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, keyset
from backroom.routing import make_router
from backroom.schema import Timestamp, parse_id

router = make_router(prefix="/orders", tags=["orders"], responses=problems(401))
Ctx = Annotated[AppContext, Depends(get_context)]
# Declared for the OpenAPI document; idempotency.run reads the header itself.
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", min_length=1, max_length=255,
        description="Replays the first response for the same key and body (24 h).",
    ),
]  # fmt: skip
Status = Literal["pending_payment", "paid", "shipped", "delivered", "cancelled", "refunded"]


def _read(order: Order, lines: list[OrderLine]) -> OrderRead:
    return OrderRead.of(order, lines)


async def _one(session: AsyncSession, order: Order) -> OrderRead:
    lines = await service.lines_of(session, [order.id])
    return _read(order, lines[order.id])


@router.post("", status_code=201, response_model=OrderRead, responses=problems(409))
async def place_order(
    body: OrderCreate, request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser,
    idempotency_key: IdempotencyHeader = None,
) -> Response:  # fmt: skip
    def respond(document: OrderRead) -> Response:
        return created(request, document, f"/api/v1/orders/{document.id}")

    async def place(claim: idempotency.Claim | None) -> Response:
        placed = await service.place(
            session=session, customer_id=user.id, data=body, settings=ctx.settings,
            before_commit=idempotency.recorder(claim, session, respond),
        )  # fmt: skip
        for product_id, version in placed.stock_versions.items():  # stock moved: not stale
            await ctx.product_cache.offer(product_id, tombstone(version))
        if claim is not None and claim.response is not None:
            return claim.response  # already built, and recorded with the order
        return respond(placed.document)

    return await idempotency.run(
        request=request, sessionmaker=ctx.sessionmaker, user_id=user.id,
        lease_seconds=ctx.settings.idempotency_lease_seconds, handler=place,
    )  # fmt: skip


@router.get("", response_model=OrderPage, responses=problems(403))
async def list_orders(
    request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser,
    status: Status | None = None,
    created_from: Annotated[Timestamp | None, Query()] = None,
    created_to: Annotated[Timestamp | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=64, description="Staff only.")] = None,
    limit: LimitQuery = 20, cursor: CursorQuery = None,
) -> Response:  # fmt: skip
    filters = service.Filters(status, created_from, created_to, _customer(user, customer_id))
    key = ctx.settings.signing_key
    after = keyset(decode_cursor(key, "orders", cursor), timestamp=True) if cursor else None
    orders, next_key = await service.list_(
        session=session, viewer_id=user.id, staff=user.is_staff, filters=filters, limit=limit,
        after=after,
    )  # fmt: skip
    lines = await service.lines_of(session, [o.id for o in orders])
    next_cursor = encode_cursor(key, "orders", next_key) if next_key else None
    page = OrderPage(items=[_read(o, lines[o.id]) for o in orders], next_cursor=next_cursor)
    return json_response(request, page, headers=next_link(request, next_cursor))


def _customer(user: Principal, raw: str | None) -> uuid.UUID | None:
    if raw is None:
        return None
    if not user.is_staff:
        raise Forbidden("Filtering by customer is for staff.")
    try:
        return uuid.UUID(raw)
    except ValueError:
        return uuid.UUID(int=0)  # ids are opaque: one that can't exist matches no order


@router.get("/{order_id}", response_model=OrderRead, responses=problems(304, 404))
async def read_order(
    order_id: str, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    order = await service.get(
        session=session, order_id=parse_id(order_id, "order"), viewer_id=user.id,
        staff=user.is_staff,
    )  # fmt: skip
    return json_response(request, await _one(session, order), etag=True)


async def _changed(request: Request, session: AsyncSession, order: Order) -> Response:
    return json_response(request, await _one(session, order))


@router.post("/{order_id}/pay", response_model=OrderRead, responses=problems(402, 404, 409))
async def pay_order(
    order_id: str, body: PayRequest, request: Request, session: SessionDep, ctx: Ctx,
    user: CurrentUser, idempotency_key: IdempotencyHeader = None,
) -> Response:  # fmt: skip
    def respond(document: OrderRead) -> Response:
        return json_response(request, document)

    async def pay(claim: idempotency.Claim | None) -> Response:
        order = await lifecycle.pay(
            session=session, order_id=parse_id(order_id, "order"), customer_id=user.id,
            provider=body.provider, token=body.token,
            before_commit=idempotency.recorder(claim, session, respond),
        )  # fmt: skip
        if claim is not None and claim.response is not None:
            return claim.response  # what was recorded with the payment
        return await _changed(request, session, order)

    return await idempotency.run(
        request=request, sessionmaker=ctx.sessionmaker, user_id=user.id,
        lease_seconds=ctx.settings.idempotency_lease_seconds, handler=pay,
    )  # fmt: skip


@router.post("/{order_id}/cancel", response_model=OrderRead, responses=problems(404, 409))
async def cancel_order(
    order_id: str, request: Request, session: SessionDep, ctx: Ctx, user: CurrentUser
) -> Response:
    changed = await lifecycle.cancel(
        session=session, order_id=parse_id(order_id, "order"), actor_id=user.id,
        staff=user.is_staff,
    )  # fmt: skip
    for product_id, version in changed.stock_versions.items():
        await ctx.product_cache.offer(product_id, tombstone(version))
    return await _changed(request, session, changed.order)


@router.post("/{order_id}/ship", response_model=OrderRead, responses=problems(403, 404, 409))
async def ship_order(
    order_id: str, request: Request, session: SessionDep, staff: StaffUser,
    body: ShipRequest | None = None,
) -> Response:  # fmt: skip
    order = await lifecycle.advance(
        session=session, order_id=parse_id(order_id, "order"), target=OrderStatus.SHIPPED,
        actor_id=staff.id, carrier=body.carrier if body else None,
        tracking_number=body.tracking_number if body else None,
    )  # fmt: skip
    return await _changed(request, session, order)


@router.post("/{order_id}/deliver", response_model=OrderRead, responses=problems(403, 404, 409))
async def deliver_order(
    order_id: str, request: Request, session: SessionDep, staff: StaffUser
) -> Response:
    order = await lifecycle.advance(
        session=session, order_id=parse_id(order_id, "order"), target=OrderStatus.DELIVERED,
        actor_id=staff.id,
    )  # fmt: skip
    return await _changed(request, session, order)


@router.post("/{order_id}/refund", response_model=OrderRead, responses=problems(403, 404, 409))
async def refund_order(
    order_id: str, request: Request, session: SessionDep, staff: StaffUser
) -> Response:
    order = await lifecycle.advance(
        session=session, order_id=parse_id(order_id, "order"), target=OrderStatus.REFUNDED,
        actor_id=staff.id,
    )  # fmt: skip
    return await _changed(request, session, order)


@router.get("/{order_id}/history", response_model=OrderHistory, responses=problems(403, 404))
async def order_history(
    order_id: str, request: Request, session: SessionDep, _staff: StaffUser
) -> Response:
    events = await lifecycle.history(session=session, order_id=parse_id(order_id, "order"))
    body = OrderHistory(items=[OrderEventRead.model_validate(e) for e in events])
    return json_response(request, body)
