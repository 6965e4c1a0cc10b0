from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr, field_validator

from backroom.events.types import ALL
from backroom.pagination import Page
from backroom.schema import WHOLE, InputModel, OutputModel, omittable
from backroom.webhooks.urls import MAX_URL

EventName = Literal[
    "*",
    "product.created", "product.updated", "product.deleted", "stock.low",
    "order.created", "order.paid", "order.shipped", "order.delivered", "order.cancelled",
    "order.refunded", "import.finished",
]  # fmt: skip
assert set(EventName.__args__) == {"*", *ALL}  # type: ignore[attr-defined]

Url = Annotated[
    StrictStr,
    Field(min_length=1, max_length=MAX_URL, examples=["https://example.com/webhooks/backroom"]),
]
EventList = Annotated[
    list[EventName],
    Field(
        min_length=1,
        max_length=len(ALL) + 1,
        description='Event types to receive, each once; ["*"] (alone) for all.',
        examples=[["order.created", "order.paid"]],
    ),
]


def _unique(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("lists an event type twice")
    if "*" in value and len(value) > 1:
        raise ValueError('"*" stands alone')
    return value


class WebhookCreate(InputModel):
    url: Url
    events: EventList
    is_active: StrictBool = True

    _events = field_validator("events")(_unique)


class WebhookPatch(InputModel):
    """JSON merge patch of ``url``, ``events``, ``is_active``. Setting ``is_active``
    to true re-enables an endpoint that was disabled after failing."""

    url: Url = omittable()
    events: EventList = omittable()
    is_active: StrictBool = omittable()

    _events = field_validator("events")(_unique)


class SecretRotation(InputModel):
    previous_valid_seconds: Annotated[
        int,
        Field(
            strict=True, ge=0, le=7 * 86_400,
            description="How long the old secret keeps signing too (0: revoke it now).",
        ),
        WHOLE,
    ] = 86_400  # fmt: skip


class WebhookRead(OutputModel):
    id: uuid.UUID
    url: str
    events: list[str]
    is_active: bool
    # Set when the endpoint was switched off after its deliveries kept failing.
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """Returned once, at creation and at rotation: the only time the secret is shown."""

    secret: str


class WebhookPage(Page[WebhookRead]):
    pass


class DeliveryRead(OutputModel):
    id: uuid.UUID
    event_id: str
    event_type: str
    attempt: int
    status: Literal["pending", "succeeded", "failed"]
    response_status: int | None
    error: str | None
    created_at: datetime
    # When a pending attempt will be made (a failed one: retried at the next one's time).
    scheduled_at: datetime

    @field_validator("event_id", mode="before")
    @classmethod
    def _as_string(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class DeliveryPage(Page[DeliveryRead]):
    pass
