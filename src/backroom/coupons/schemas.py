from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic.config import JsonDict

from backroom.pagination import Page
from backroom.schema import WHOLE, InputModel, OutputModel, Timestamp, omittable

Code = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["WELCOME10"])]
Percent = Annotated[int, Field(strict=True, ge=1, le=100), WHOLE]
Cents = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000), WHOLE]
PositiveCents = Annotated[int, Field(strict=True, ge=1, le=1_000_000_000), WHOLE]
Limit = Annotated[int, Field(strict=True, ge=1, le=1_000_000_000), WHOLE]


# "Exactly one of percent_off or amount_off_cents", stated for schema readers too.
_ONE_KIND: JsonDict = {
    "oneOf": [
        {"required": ["percent_off"], "properties": {"percent_off": {"type": "integer"}}},
        {"required": ["amount_off_cents"], "properties": {"amount_off_cents": {"type": "integer"}}},
    ]
}


class CouponCreate(InputModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_KIND)

    code: Code
    percent_off: Percent | None = None
    amount_off_cents: PositiveCents | None = None
    min_subtotal_cents: Cents = 0
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    max_redemptions: Limit | None = None
    is_active: StrictBool = True

    @model_validator(mode="after")
    def _one_kind(self) -> CouponCreate:
        if (self.percent_off is None) == (self.amount_off_cents is None):
            raise ValueError("give exactly one of percent_off or amount_off_cents")
        return self


class CouponPatch(InputModel):
    """JSON merge patch; the result must still be a valid coupon (checked in the service)."""

    code: Code = omittable()
    percent_off: Percent | None = None
    amount_off_cents: PositiveCents | None = None
    min_subtotal_cents: Cents = omittable()
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    max_redemptions: Limit | None = None
    is_active: StrictBool = omittable()


class CouponRead(OutputModel):
    id: uuid.UUID
    code: str
    percent_off: int | None
    amount_off_cents: int | None
    min_subtotal_cents: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_redemptions: int | None
    redemptions: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class CouponPage(Page[CouponRead]):
    pass
