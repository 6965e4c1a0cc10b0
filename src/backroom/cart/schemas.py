from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from backroom.coupons.schemas import Code
from backroom.schema import WHOLE, InputModel, OutputModel

Quantity = Annotated[int, Field(strict=True, ge=1, le=999), WHOLE]


class ItemQuantity(InputModel):
    quantity: Quantity


class CouponCode(InputModel):
    code: Code


class CartLine(OutputModel):
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price_cents: int
    quantity: int
    line_total_cents: int


class CartRead(OutputModel):
    items: list[CartLine]
    coupon_code: str | None
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int
    currency: str
