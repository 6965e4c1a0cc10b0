"""Catalog reads: one prebuilt or composed SELECT each, on an autocommit connection,
serialised straight from the row. No ORM objects, no N+1: a page is one query."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from backroom.catalog.cache import CachedProduct, ProductCache, rank
from backroom.catalog.documents import (
    CATEGORY_COLUMNS,
    PRODUCT_COLUMNS,
    category_document,
    dumps,
    http_date,
    product_document,
)
from backroom.catalog.models import Category, Product, ProductSlugRedirect
from backroom.errors import Unprocessable
from backroom.http import etag_of

_BY_ID = select(*PRODUCT_COLUMNS).where(
    Product.id == bindparam("product_id"), Product.deleted_at.is_(None)
)
_BY_SLUG = select(*PRODUCT_COLUMNS).where(
    Product.slug == bindparam("slug"), Product.deleted_at.is_(None)
)
_REDIRECT = (
    select(Product.slug, Product.is_active)
    .join(ProductSlugRedirect, ProductSlugRedirect.product_id == Product.id)
    .where(ProductSlugRedirect.slug == bindparam("slug"), Product.deleted_at.is_(None))
)
_CATEGORY = select(*CATEGORY_COLUMNS).where(Category.id == bindparam("category_id"))

_SORTS = {
    "name": (Product.name, False),
    "-name": (Product.name, True),
    "price": (Product.price_cents, False),
    "-price": (Product.price_cents, True),
    "created_at": (Product.created_at, False),
    "-created_at": (Product.created_at, True),
}
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, as both indexes split text
_MAX_TERMS = 8


@dataclass(frozen=True, slots=True)
class ProductFilters:
    q: str | None = None
    category_id: uuid.UUID | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    is_active: bool | None = None
    sort: str = "-created_at"


def entry_of(row: Mapping[Any, Any], currency: str) -> CachedProduct:
    body = dumps(product_document(row, currency))
    return CachedProduct(
        rank=rank(row["version"]),
        is_active=row["is_active"],
        etag=etag_of(body),
        last_modified=http_date(row["updated_at"]),
        body=body,
    )


async def product(
    *, engine: AsyncEngine, cache: ProductCache, product_id: uuid.UUID, currency: str
) -> CachedProduct | None:
    """A product's representation, from the cache when it holds it, else the database."""
    entry = await cache.get(product_id)
    if entry is not None and entry.servable:
        return entry
    async with engine.connect() as conn:
        row = (await conn.execute(_BY_ID, {"product_id": product_id})).mappings().one_or_none()
    if row is None:
        return None
    entry = entry_of(row, currency)
    await cache.offer(product_id, entry)
    return entry


async def product_by_slug(
    *, engine: AsyncEngine, slug: str, currency: str
) -> CachedProduct | tuple[str, bool] | None:
    """The product with this slug, or ``(current_slug, is_active)`` if it is a former one."""
    async with engine.connect() as conn:
        row = (await conn.execute(_BY_SLUG, {"slug": slug})).mappings().one_or_none()
        if row is not None:
            return entry_of(row, currency)
        moved = (await conn.execute(_REDIRECT, {"slug": slug})).one_or_none()
    return (moved[0], moved[1]) if moved is not None else None


def search_terms(q: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(q)][:_MAX_TERMS]


def _search(stmt: Select[Any], terms: list[str], dialect: str) -> Select[Any]:
    # Every term is a prefix match; terms are letters and digits only, and are bound.
    if dialect == "sqlite":
        query = " ".join(f'"{t}"*' for t in terms)
        clause = text(
            "product.rowid IN (SELECT rowid FROM product_fts WHERE product_fts MATCH :fts)"
        )
    else:
        query = " & ".join(f"{t}:*" for t in terms)
        clause = text("product.search @@ to_tsquery('simple', :fts)")
    return stmt.where(clause.bindparams(fts=query))


def _filtered(filters: ProductFilters, staff: bool, dialect: str) -> Select[Any] | None:
    stmt = select(*PRODUCT_COLUMNS).where(Product.deleted_at.is_(None))
    if not staff:
        stmt = stmt.where(Product.is_active.is_(True))
    elif filters.is_active is not None:
        stmt = stmt.where(Product.is_active.is_(filters.is_active))
    if filters.category_id is not None:
        stmt = stmt.where(Product.category_id == filters.category_id)
    if filters.min_price is not None:
        stmt = stmt.where(Product.price_cents >= filters.min_price)
    if filters.max_price is not None:
        stmt = stmt.where(Product.price_cents <= filters.max_price)
    if filters.in_stock:
        stmt = stmt.where(Product.stock > 0)
    if filters.q is not None:
        terms = search_terms(filters.q)
        if not terms:
            return None  # nothing searchable in q: no product can match
        stmt = _search(stmt, terms, dialect)
    return stmt


def decode_keyset(sort: str, values: Sequence[Any]) -> list[Any]:
    """Turn cursor values back into typed keys; anything odd is a 422."""
    invalid = Unprocessable.field("cursor", "invalid cursor")
    if len(values) != 2:
        raise invalid
    raw, raw_id = values
    expected = {"created_at": str, "name": str, "price": int}[sort.lstrip("-")]
    if type(raw) is not expected:
        raise invalid
    try:
        key = datetime.fromisoformat(str(raw)) if "created" in sort else raw
        return [key, uuid.UUID(raw_id)]
    except (ValueError, TypeError, AttributeError):
        raise invalid from None


async def list_products(
    *,
    engine: AsyncEngine,
    filters: ProductFilters,
    staff: bool,
    limit: int,
    after: list[Any] | None,
    currency: str,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """One page and the keyset of the next (None on the last page)."""
    stmt = _filtered(filters, staff, engine.dialect.name)
    if stmt is None:
        return [], None
    column, descending = _SORTS[filters.sort]
    if after is not None:
        keys = tuple_(column, Product.id)
        stmt = stmt.where(keys < tuple_(*after) if descending else keys > tuple_(*after))
    order = (column.desc(), Product.id.desc()) if descending else (column.asc(), Product.id.asc())
    stmt = stmt.order_by(*order).limit(limit + 1)
    async with engine.connect() as conn:
        rows = list((await conn.execute(stmt)).mappings())
    items = [product_document(row, currency) for row in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = rows[limit - 1]
    key = last[column.key]
    return items, [key.isoformat() if isinstance(key, datetime) else key, str(last["id"])]


async def category(*, engine: AsyncEngine, category_id: uuid.UUID) -> Mapping[Any, Any] | None:
    async with engine.connect() as conn:
        result = await conn.execute(_CATEGORY, {"category_id": category_id})
        return result.mappings().one_or_none()


async def list_categories(
    *, engine: AsyncEngine, limit: int, after: list[Any] | None, parent_id: uuid.UUID | None
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """Categories by (name, id); optionally only the children of ``parent_id``."""
    stmt = select(*CATEGORY_COLUMNS)
    if parent_id is not None:
        stmt = stmt.where(Category.parent_id == parent_id)
    if after is not None:
        stmt = stmt.where(tuple_(Category.name, Category.id) > tuple_(*after))
    stmt = stmt.order_by(Category.name, Category.id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = list((await conn.execute(stmt)).mappings())
    items = [category_document(row) for row in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = rows[limit - 1]
    return items, [last["name"], str(last["id"])]
