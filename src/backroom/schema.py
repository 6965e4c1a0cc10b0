"""Base classes for API shapes: inputs reject unknown fields (no mass assignment)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from backroom.errors import NotFound


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
