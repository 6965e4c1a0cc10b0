from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from backroom.pagination import Page
from backroom.schema import WHOLE, InputModel, OutputModel, Text

Delta = Annotated[int, Field(strict=True, ge=-1_000_000_000, le=1_000_000_000), WHOLE]


class MovementCreate(InputModel):
    delta: Delta = Field(
        description="Non-zero change of stock.", json_schema_extra={"not": {"const": 0}}
    )
    reason: Literal["restock", "correction", "damage", "return"]
    note: Annotated[Text, Field(max_length=500)] | None = None


class MovementRead(OutputModel):
    id: uuid.UUID
    product_id: uuid.UUID
    delta: int
    reason: str
    note: str | None
    stock_after: int
    created_at: datetime


class MovementPage(Page[MovementRead]):
    pass
