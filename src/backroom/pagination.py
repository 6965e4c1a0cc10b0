"""Keyset pagination: opaque, tamper-evident cursors and the ``Page[T]`` shape.

A cursor is ``base64url(json(values)) . base64url(hmac)``: the client can't
read meaning into it, and a forged or truncated one is a 422, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from backroom.errors import Unprocessable

T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="Opaque cursor from the previous page's next_cursor.",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keyset(values: list[Any], *, timestamp: bool) -> list[Any]:
    """Type the values of a ``[sort key, id]`` cursor: the key is an ISO timestamp
    (``timestamp=True``) or a string, the id a UUID. Anything else is a 422."""
    invalid = Unprocessable.field("cursor", "invalid cursor")
    if len(values) != 2 or not all(isinstance(v, str) for v in values):
        raise invalid
    try:
        first = datetime.fromisoformat(values[0]) if timestamp else values[0]
        return [first, uuid.UUID(values[1])]
    except ValueError:
        raise invalid from None


def encode_cursor(key: bytes, kind: str, values: list[Any]) -> str:
    payload = orjson.dumps([kind, *values])
    sig = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(sig)}"


def decode_cursor(key: bytes, kind: str, cursor: str) -> list[Any]:
    """Return the keyset values, or raise 422 if the cursor was not made by us for ``kind``."""
    invalid = Unprocessable.field("cursor", "invalid cursor")
    try:
        payload_text, sig_text = cursor.split(".", 1)
        payload, sig = _unb64(payload_text), _unb64(sig_text)
    except (ValueError, TypeError):
        raise invalid from None
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(sig, expected):
        raise invalid
    try:
        values = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise invalid from None
    if not isinstance(values, list) or not values or values[0] != kind:
        raise invalid
    return values[1:]
