"""The JSON of a product or category, built straight from a database row.

Every product response (by id, by slug, lists, writes, the cache) goes through
``product_document``, so they can't drift apart; ``ProductRead`` documents the
same shape for OpenAPI and is checked against it in the tests. Skipping Pydantic
here is deliberate: this is the hottest path of the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import orjson

from backroom.catalog.models import Category, Product

_OPTIONS = orjson.OPT_UTC_Z

PRODUCT_COLUMNS = (
    Product.id, Product.sku, Product.slug, Product.name, Product.description,
    Product.price_cents, Product.stock, Product.category_id, Product.is_active,
    Product.attributes, Product.created_at, Product.updated_at, Product.version,
)  # fmt: skip

CATEGORY_COLUMNS = (
    Category.id, Category.name, Category.slug, Category.parent_id, Category.description,
    Category.updated_at,
)  # fmt: skip


def _id(value: Any) -> str | None:
    # asyncpg hands back its own UUID class, which orjson doesn't know.
    return None if value is None else str(value)


def product_document(row: Mapping[Any, Any], currency: str) -> dict[str, Any]:
    return {
        "id": _id(row["id"]),
        "sku": row["sku"],
        "slug": row["slug"],
        "name": row["name"],
        "description": row["description"],
        "price_cents": row["price_cents"],
        "currency": currency,
        "stock": row["stock"],
        "category_id": _id(row["category_id"]),
        "is_active": row["is_active"],
        # Sorted: PostgreSQL's jsonb reorders keys, and the ETag must not depend on
        # whether the representation came from a fresh write or a later read.
        "attributes": dict(sorted((row["attributes"] or {}).items())),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def category_document(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": _id(row["id"]),
        "name": row["name"],
        "slug": row["slug"],
        "parent_id": _id(row["parent_id"]),
        "description": row["description"],
    }


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=_OPTIONS)


def page(items: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    return dumps({"items": items, "next_cursor": next_cursor})


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def parse_uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
