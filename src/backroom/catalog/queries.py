"""Catalog reads: one prebuilt or composed SELECT each, on an autocommit connection,
serialised straight from the row. No ORM objects, no N+1: a page is one query."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_
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
from backroom.catalog.loader import product_row
from backroom.catalog.models import Category, Product, ProductSlugRedirect
from backroom.db import Prepared
from backroom.errors import Unprocessable
from backroom.http import etag_of

_BY_SLUG = Prepared(
    select(*PRODUCT_COLUMNS).where(Product.slug == bindparam("slug"), Product.deleted_at.is_(None))
)
_REDIRECT = Prepared(
    select(Product.slug, Product.is_active)
    .join(ProductSlugRedirect, ProductSlugRedirect.product_id == Product.id)
    .where(ProductSlugRedirect.slug == bindparam("slug"), Product.deleted_at.is_(None))
)
_CATEGORY = Prepared(select(*CATEGORY_COLUMNS).where(Category.id == bindparam("category_id")))

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
    return await fresh(engine=engine, cache=cache, product_id=product_id, currency=currency)


async def fresh(
    *, engine: AsyncEngine, cache: ProductCache, product_id: uuid.UUID, currency: str
) -> CachedProduct | None:
    """The product as committed, read past the cache, then offered to it."""
    row = await product_row(engine, product_id)
    if row is None:
        return None
    entry = entry_of(row, currency)
    await cache.offer(product_id, entry)
    return entry


async def product_by_slug(
    *, engine: AsyncEngine, slug: str, currency: str
) -> CachedProduct | tuple[str, bool] | None:
    """The product with this slug, or ``(current_slug, is_active)`` if it is a former one."""
    if "\x00" in slug:
        return None  # no slug holds NUL, and PostgreSQL refuses it in a parameter
    row = await _BY_SLUG.one(engine, {"slug": slug})
    if row is not None:
        return entry_of(row, currency)
    moved = await _REDIRECT.one(engine, {"slug": slug})
    return (moved["slug"], moved["is_active"]) if moved is not None else None


def search_terms(q: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(q)][:_MAX_TERMS]


def _search_clause(dialect: str) -> Any:
    # Every term is a prefix match; terms are letters and digits only, and are bound.
    if dialect == "sqlite":
        return text("product.rowid IN (SELECT rowid FROM product_fts WHERE product_fts MATCH :fts)")
    return text("product.search @@ to_tsquery('simple', :fts)")


def _search_query(terms: list[str], dialect: str) -> str:
    if dialect == "sqlite":
        return " ".join(f'"{t}"*' for t in terms)
    return " & ".join(f"{t}:*" for t in terms)


@lru_cache(maxsize=512)
def _list_statement(shape: tuple[Any, ...], dialect: str) -> Prepared:
    """The SELECT for one combination of filters, built once and reused with new values."""
    sort, staff, by_active, category, low, high, in_stock, search, after = shape
    stmt = select(*PRODUCT_COLUMNS).where(Product.deleted_at.is_(None))
    if not staff:
        stmt = stmt.where(Product.is_active.is_(True))
    elif by_active:
        stmt = stmt.where(Product.is_active == bindparam("is_active"))
    if category:
        stmt = stmt.where(Product.category_id == bindparam("category_id"))
    if low:
        stmt = stmt.where(Product.price_cents >= bindparam("min_price"))
    if high:
        stmt = stmt.where(Product.price_cents <= bindparam("max_price"))
    if in_stock:
        stmt = stmt.where(Product.stock > 0)
    if search:
        stmt = stmt.where(_search_clause(dialect))
    column, descending = _SORTS[sort]
    if after:
        keys = tuple_(column, Product.id)
        bound = tuple_(
            bindparam("after_key", type_=column.type), bindparam("after_id", type_=Product.id.type)
        )
        stmt = stmt.where(keys < bound if descending else keys > bound)
    order = (column.desc(), Product.id.desc()) if descending else (column.asc(), Product.id.asc())
    return Prepared(stmt.order_by(*order).limit(bindparam("limit")))


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
    """One page and the keyset of the next (None on the last page). One query."""
    dialect = engine.dialect.name
    params: dict[str, Any] = {"limit": limit + 1}
    terms = search_terms(filters.q) if filters.q is not None else []
    if filters.q is not None:
        if not terms:
            return [], None  # nothing searchable in q: no product can match
        params["fts"] = _search_query(terms, dialect)
    f = filters
    for name, value in (
        ("is_active", f.is_active if staff else None), ("category_id", f.category_id),
        ("min_price", f.min_price), ("max_price", f.max_price),
    ):  # fmt: skip
        if value is not None:
            params[name] = value
    if after is not None:
        params["after_key"], params["after_id"] = after
    shape = (
        f.sort, staff, "is_active" in params, "category_id" in params, "min_price" in params,
        "max_price" in params, f.in_stock, bool(terms), after is not None,
    )  # fmt: skip
    rows = await _list_statement(shape, dialect).all(engine, params)
    items = [product_document(row, currency) for row in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    return items, keyset_of(rows[limit - 1], f.sort)


def keyset_of(row: Mapping[Any, Any], sort: str) -> list[Any]:
    """The cursor values of a product row, or of its document, under ``sort``."""
    key = row[_SORTS[sort][0].key]
    return [key.isoformat() if isinstance(key, datetime) else key, str(row["id"])]


async def category(*, engine: AsyncEngine, category_id: uuid.UUID) -> Mapping[Any, Any] | None:
    return await _CATEGORY.one(engine, {"category_id": category_id})


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
    return items, category_keyset(rows[limit - 1])


def category_keyset(row: Mapping[Any, Any]) -> list[Any]:
    """The cursor values of a category row, or of its document."""
    return [row["name"], str(row["id"])]


async def categories_by_id(
    *, engine: AsyncEngine, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Many categories in one query (GraphQL's per-request loader batches into this)."""
    if not ids:
        return {}
    stmt = select(*CATEGORY_COLUMNS).where(Category.id.in_(ids))
    async with engine.connect() as conn:
        rows = list((await conn.execute(stmt)).mappings())
    return {uuid.UUID(str(row["id"])): category_document(row) for row in rows}
