"""One import row, validated with the API's rules for the same fields.

Hand-written rather than a Pydantic model per row because a million rows must
validate in seconds; a property test checks that these rules accept and reject
exactly what ``ProductCreate`` does. CSV cells are text, NDJSON values are
typed. A field that is absent (no such column, no such key) or an empty CSV
cell leaves the product's value as it is; a new product then takes the
API's default. ``description`` and ``category_slug`` are different: empty
means empty, and no category.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from backroom.catalog.models import MAX_PRICE_CENTS
from backroom.inventory.service import MAX_STOCK

COLUMNS = ("sku", "name", "description", "price_cents", "stock", "category_slug", "is_active")
_SKU = re.compile(r"[A-Za-z0-9._-]{1,64}")
_INT = re.compile(r"[+-]?[0-9]{1,19}")
_BOOLS = {"true": True, "false": False}
MAX_NAME = 200
MAX_DESCRIPTION = 20_000
MAX_CATEGORY_SLUG = 200


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str | None
    message: str


@dataclass(slots=True)
class Valid:
    """A row that passed validation; ``values`` holds only the fields it sets."""

    row: int
    sku: str
    values: dict[str, Any]


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def validate(row: int, raw: dict[str, Any], *, typed: bool) -> Valid | RowError:
    sku = raw.get("sku")
    if not isinstance(sku, str) or not _SKU.fullmatch(sku):
        return RowError(row, "sku", "must be 1-64 characters of A-Z a-z 0-9 . _ -")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "sku" or (value == "" and not typed and name not in _EMPTY_MEANS_EMPTY):
            continue
        try:
            values[name] = _CHECKS[name](value, typed)
        except _Bad as bad:
            return RowError(row, name, bad.message)
    return Valid(row, sku, values)


def _text(value: Any, limit: int, *, empty_ok: bool) -> str:
    if value is None and empty_ok:
        return ""
    if not isinstance(value, str):
        raise _Bad("must be a string")
    if not value and not empty_ok:
        raise _Bad("must not be empty")
    if len(value) > limit:
        raise _Bad(f"must be at most {limit:,} characters")
    if "\x00" in value:
        raise _Bad("must not contain NUL characters")
    return value


def _whole(value: Any, typed: bool, upper: int) -> int:
    if typed:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad("must be a whole number")
    else:
        if not isinstance(value, str) or not _INT.fullmatch(value.strip()):
            raise _Bad("must be a whole number")
        value = int(value)
    if not 0 <= value <= upper:
        raise _Bad(f"must be between 0 and {upper}")
    return int(value)


def _name(value: Any, typed: bool) -> str:
    return _text(value, MAX_NAME, empty_ok=False)


def _description(value: Any, typed: bool) -> str:
    return _text(value, MAX_DESCRIPTION, empty_ok=True)


def _price(value: Any, typed: bool) -> int:
    return _whole(value, typed, MAX_PRICE_CENTS)


def _stock(value: Any, typed: bool) -> int:
    return _whole(value, typed, MAX_STOCK)


def _category(value: Any, typed: bool) -> str | None:
    if value is None or value == "":
        return None
    return _text(value, MAX_CATEGORY_SLUG, empty_ok=False)


def _active(value: Any, typed: bool) -> bool:
    if typed:
        if not isinstance(value, bool):
            raise _Bad("must be true or false")
        return value
    flag = _BOOLS.get(value.strip().lower()) if isinstance(value, str) else None
    if flag is None:
        raise _Bad("must be true or false")
    return flag


_CHECKS = {
    "name": _name,
    "description": _description,
    "price_cents": _price,
    "stock": _stock,
    "category_slug": _category,
    "is_active": _active,
}
_EMPTY_MEANS_EMPTY = {"description", "category_slug"}
