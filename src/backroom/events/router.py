"""``GET /events``: the event log as Server-Sent Events, for staff."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Header, Query, Request
from starlette.responses import Response

from backroom.auth.deps import StaffUser
from backroom.auth.tokens import AccessClaims
from backroom.context import AppContext
from backroom.errors import Unprocessable
from backroom.events.stream import HEADERS, Access, EventStream, Subscription
from backroom.events.types import ALL
from backroom.openapi import problems
from backroom.routing import make_router

router = make_router(prefix="/events", tags=["events"], responses=problems(401, 403))

MEDIA_TYPE = "text/event-stream"
_EVENT_ID = re.compile(r"[0-9]{1,19}")
_MAX_ID = 2**63 - 1

TypesQuery = Annotated[
    str | None,
    Query(
        description="Comma-separated event types to receive (default: all), e.g. "
        "`order.created,order.paid`.",
        max_length=1000,
    ),
]
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this event id: the events since are replayed first "
        "(`0`: everything retained). Without it, the stream starts with what commits next.",
        max_length=100,
    ),
]
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An endless `text/event-stream`: a `retry` hint, then one message per "
        "event (`id`, `event`: the type, `data`: `{id, type, timestamp, data}`), and a "
        "`: heartbeat` comment every `BACKROOM_EVENTS_HEARTBEAT_SECONDS`.",
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    },
}


def parse_types(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    wanted = [part.strip() for part in value.split(",")]
    unknown = [part for part in wanted if part not in ALL]
    if unknown:
        raise Unprocessable.field(
            "types", f"unknown event type {unknown[0]!r}; known: {', '.join(ALL)}"
        )
    return frozenset(wanted)


def parse_event_id(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not _EVENT_ID.fullmatch(text) or int(text) > _MAX_ID:
        raise Unprocessable.field("Last-Event-ID", "must be an event id (a non-negative integer)")
    return int(text)


@router.get("", response_class=Response, responses={**_STREAM_DOC, **problems(503)})
async def stream_events(
    request: Request,
    _staff: StaffUser,
    types: TypesQuery = None,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Follow the event log live; reconnect with `Last-Event-ID` to miss nothing."""
    ctx: AppContext = request.app.state.ctx
    wanted, after = parse_types(types), parse_event_id(last_event_id)
    if getattr(request.state, "head", False):
        return Response(media_type=MEDIA_TYPE, headers=HEADERS)
    if after is None:
        after = await ctx.streams.start_cursor()
    claims: AccessClaims = request.state.access_claims
    access = Access(claims.user_id, claims.issued_at, claims.expires_at, ctx.user_states)
    subscriber = ctx.streams.open()  # 503 past the cap; the stream gives it back
    return EventStream(ctx.streams, subscriber, Subscription(after, wanted), access, ctx.settings)
