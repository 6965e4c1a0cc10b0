from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from backroom.auth.deps import AdminUser
from backroom.context import AppContext, get_context
from backroom.db import SessionDep
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
from backroom.schema import parse_id
from backroom.webhooks import service
from backroom.webhooks.models import WebhookDelivery, WebhookEndpoint
from backroom.webhooks.runner import DISPATCH
from backroom.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    SecretRotation,
    WebhookCreate,
    WebhookPage,
    WebhookPatch,
    WebhookRead,
    WebhookWithSecret,
)

router = make_router(prefix="/webhooks", tags=["webhooks"], responses=problems(401, 403))
Ctx = Annotated[AppContext, Depends(get_context)]


def _read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead.model_validate(endpoint)


def _with_secret(endpoint: WebhookEndpoint) -> WebhookWithSecret:
    return WebhookWithSecret.model_validate(endpoint)


def _delivery(row: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        id=row.id, event_id=str(row.event_id), event_type=row.event_type, attempt=row.attempt,
        status=row.status, response_status=row.response_status, error=row.error,
        created_at=row.created_at, scheduled_at=row.due_at,
    )  # fmt: skip


async def _unchanged(request: Request, session: AsyncSession, webhook_id: str) -> None:
    """``If-Match`` against the representation as it is now (412 if it moved on)."""
    if request.headers.get("if-match") is not None:
        endpoint = await service.get(session=session, webhook_id=parse_id(webhook_id, "webhook"))
        check_if_match(request, etag_of(model_bytes(_read(endpoint))))


@router.get("", response_model=WebhookPage)
async def list_webhooks(
    request: Request, session: SessionDep, ctx: Ctx, _admin: AdminUser,
    limit: LimitQuery = 20, cursor: CursorQuery = None,
) -> Response:  # fmt: skip
    key = ctx.settings.signing_key
    after = keyset(decode_cursor(key, "webhooks", cursor), timestamp=True) if cursor else None
    rows, next_key = await service.list_(session=session, limit=limit, after=after)
    next_cursor = encode_cursor(key, "webhooks", next_key) if next_key else None
    page = WebhookPage(items=[_read(e) for e in rows], next_cursor=next_cursor)
    return json_response(request, page, headers=next_link(request, next_cursor))


@router.post("", status_code=201, response_model=WebhookWithSecret)
async def create_webhook(
    body: WebhookCreate, request: Request, session: SessionDep, ctx: Ctx, admin: AdminUser
) -> Response:
    endpoint = await service.create(
        session=session, data=body, actor_id=admin.id,
        allow_private=ctx.settings.webhook_allow_private_urls,
    )  # fmt: skip
    ctx.jobs.webhooks_active = ctx.jobs.webhooks_active or endpoint.is_active
    return created(request, _with_secret(endpoint), f"/api/v1/webhooks/{endpoint.id}")


@router.get("/{webhook_id}", response_model=WebhookRead, responses=problems(304, 404))
async def read_webhook(
    webhook_id: str, request: Request, session: SessionDep, _admin: AdminUser
) -> Response:
    endpoint = await service.get(session=session, webhook_id=parse_id(webhook_id, "webhook"))
    return json_response(request, _read(endpoint), etag=True)


@router.patch("/{webhook_id}", response_model=WebhookRead, responses=problems(404, 412))
async def patch_webhook(
    webhook_id: str, body: WebhookPatch, request: Request, session: SessionDep, ctx: Ctx,
    _admin: AdminUser,
) -> Response:  # fmt: skip
    await _unchanged(request, session, webhook_id)
    endpoint = await service.patch(
        session=session, webhook_id=parse_id(webhook_id, "webhook"), changes=body,
        allow_private=ctx.settings.webhook_allow_private_urls,
    )  # fmt: skip
    if endpoint.is_active:  # perhaps re-enabled: its waiting deliveries may go now
        ctx.jobs.webhooks_active = True
        await ctx.jobs.send(DISPATCH)
    return json_response(request, _read(endpoint), etag=True)


@router.delete(
    "/{webhook_id}", status_code=204, response_class=Response, responses=problems(404, 412)
)
async def delete_webhook(
    webhook_id: str, request: Request, session: SessionDep, _admin: AdminUser
) -> Response:
    await _unchanged(request, session, webhook_id)
    await service.delete(session=session, webhook_id=parse_id(webhook_id, "webhook"))
    return no_content()


@router.post(
    "/{webhook_id}/rotate-secret", response_model=WebhookWithSecret, responses=problems(404)
)
async def rotate_secret(
    webhook_id: str, request: Request, session: SessionDep, _admin: AdminUser,
    body: SecretRotation | None = None,
) -> Response:  # fmt: skip
    endpoint = await service.rotate_secret(
        session=session, webhook_id=parse_id(webhook_id, "webhook"),
        previous_valid_seconds=(body or SecretRotation()).previous_valid_seconds,
    )  # fmt: skip
    return json_response(request, _with_secret(endpoint))


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, responses=problems(404))
async def list_deliveries(
    webhook_id: str, request: Request, session: SessionDep, ctx: Ctx, _admin: AdminUser,
    limit: LimitQuery = 20, cursor: CursorQuery = None,
) -> Response:  # fmt: skip
    key, pid = ctx.settings.signing_key, parse_id(webhook_id, "webhook")
    kind = f"deliveries:{pid}"
    after = keyset(decode_cursor(key, kind, cursor), timestamp=True) if cursor else None
    rows, next_key = await service.deliveries(
        session=session, webhook_id=pid, limit=limit, after=after
    )
    next_cursor = encode_cursor(key, kind, next_key) if next_key else None
    page = DeliveryPage(items=[_delivery(d) for d in rows], next_cursor=next_cursor)
    return json_response(request, page, headers=next_link(request, next_cursor))


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryRead,
    responses=problems(404),
)  # fmt: skip
async def read_delivery(
    webhook_id: str, delivery_id: str, request: Request, session: SessionDep, _admin: AdminUser
) -> Response:
    row = await service.delivery(
        session=session, webhook_id=parse_id(webhook_id, "webhook"),
        delivery_id=parse_id(delivery_id, "delivery"),
    )  # fmt: skip
    return json_response(request, _delivery(row))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202,
    response_model=DeliveryRead, responses=problems(404, 409),
)  # fmt: skip
async def redeliver(
    webhook_id: str, delivery_id: str, request: Request, session: SessionDep, ctx: Ctx,
    _admin: AdminUser,
) -> Response:  # fmt: skip
    pid = parse_id(webhook_id, "webhook")
    row = await service.redeliver(
        session=session, webhook_id=pid, delivery_id=parse_id(delivery_id, "delivery")
    )
    await ctx.jobs.send(DISPATCH)
    location = f"/api/v1/webhooks/{pid}/deliveries/{row.id}"
    return json_response(request, _delivery(row), status=202, headers={"Location": location})
