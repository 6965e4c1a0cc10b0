from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictStr

from backroom.cart.schemas import CartLine, Quantity
from backroom.coupons.schemas import Code
from backroom.pagination import Page
from backroom.schema import InputModel, OutputModel, Text

Line200 = Annotated[Text, Field(min_length=1, max_length=200)]


class ShippingAddress(InputModel):
    name: Line200
    line1: Line200
    line2: Annotated[Text, Field(max_length=200)] | None = None
    city: Annotated[Text, Field(min_length=1, max_length=100)]
    region: Annotated[Text, Field(max_length=100)] | None = None
    postal_code: Annotated[Text, Field(min_length=1, max_length=20)]
    country: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class OrderItemIn(InputModel):
    product_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    quantity: Quantity


class OrderCreate(InputModel):
    shipping_address: ShippingAddress
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=100)] | None = None
    coupon_code: Code | None = None


class OrderLineRead(CartLine):
    """The same shape as a cart line, frozen at checkout."""


class OrderRead(OutputModel):
    id: uuid.UUID
    number: str
    status: str
    customer_id: uuid.UUID
    items: list[OrderLineRead]
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int
    currency: str
    coupon_code: str | None
    shipping_address: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, order: Any, lines: Sequence[Any]) -> OrderRead:
        """From an ``Order`` row and its ``OrderLine`` rows (in position order)."""
        return cls(
            id=order.id, number=order.number, status=order.status,
            customer_id=order.customer_id,
            items=[OrderLineRead.model_validate(line) for line in lines],
            subtotal_cents=order.subtotal_cents, discount_cents=order.discount_cents,
            tax_cents=order.tax_cents, shipping_cents=order.shipping_cents,
            total_cents=order.total_cents, currency=order.currency,
            coupon_code=order.coupon_code, shipping_address=order.shipping_address,
            created_at=order.created_at, updated_at=order.updated_at, paid_at=order.paid_at,
        )  # fmt: skip


class OrderPage(Page[OrderRead]):
    pass


class PayRequest(InputModel):
    provider: Annotated[StrictStr, Field(min_length=1, max_length=32, examples=["test"])]
    token: Annotated[StrictStr, Field(min_length=1, max_length=256, examples=["tok_visa"])]


class ShipRequest(InputModel):
    carrier: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    tracking_number: Annotated[Text, Field(min_length=1, max_length=100)] | None = None


class OrderEventRead(OutputModel):
    from_status: str | None
    to_status: str
    actor_id: uuid.UUID | None
    created_at: datetime


class OrderHistory(OutputModel):
    items: list[OrderEventRead]
