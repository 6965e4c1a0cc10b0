"""Base classes for API shapes: inputs reject unknown fields (no mass assignment)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
)

from backroom.errors import NotFound

# Text that can be stored: PostgreSQL refuses NUL in text columns, so it is refused
# at the edge (422) instead of failing in the database (500). Lone surrogates are
# already refused by Pydantic.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[StrictStr, Field(pattern=NO_NUL)]


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 5.0 is the integer 5 (JSON Schema agrees). Strings
    # and booleans still fail the strict integer check after this.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Use as Annotated[int, Field(strict=True, ge=…, le=…), WHOLE]: in that order the
# bounds still reach the JSON Schema as minimum/maximum.
WHOLE = BeforeValidator(_whole_number)


def _in_utc(value: datetime) -> datetime:
    # A valid RFC 3339 time can still fall outside what a datetime holds once moved
    # to UTC (0001-01-01T01:00:00+21:41): that is a 422, not an overflow later.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_only(value: Any) -> Any:
    # Pydantic would also take 1700000000 or "0.0" as Unix times; the contract's
    # times are RFC 3339 strings, nothing else.
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-26T04:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_in_utc)]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def parse_id(value: str, what: str = "resource") -> uuid.UUID:
    """IDs are opaque to clients: one that can't be ours names nothing (404, not 422)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"No such {what}.") from None


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable() -> Any:
    """A PATCH field that may be left out but is never null: absent means "unchanged".

    Typed ``Any`` so it can default a non-optional annotation; the default is never
    seen by callers, who read only the fields that were set (``exclude_unset``).
    """
    return Field(default=None, json_schema_extra=_drop_default)
