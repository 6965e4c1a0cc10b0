"""The reads behind the root fields, through the same query and service functions
as REST, with the same permission rules. Errors are ``AppError``s, so they carry
the same stable codes as REST's problems (``transport`` puts them in
``extensions.code``).

Cursors are REST's: signed keysets of the same kind, so a cursor from one API
continues the same listing in the other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from backroom.catalog import queries
from backroom.catalog.cache import CachedProduct
from backroom.catalog.documents import parse_uuid
from backroom.errors import Forbidden, Unprocessable
from backroom.graphql.context import Context
from backroom.graphql.limits import PAGE_MAX
from backroom.graphql.types import Category, Connection, Order, Product
from backroom.orders import service as orders
from backroom.pagination import decode_cursor, encode_cursor, keyset

_PRODUCT_SORT = "-created_at"  # REST's default order; GraphQL offers no other
_MAX_CURSOR = 1024
_MAX_TEXT = 200


def _page_size(first: int) -> int:
    if not 1 <= first <= PAGE_MAX:
        raise Unprocessable.field("first", f"must be between 1 and {PAGE_MAX}")
    return first


def _text(name: str, value: str | None) -> str | None:
    # NUL can't be stored or searched (PostgreSQL refuses it): REST answers 422 too.
    if value is not None and (len(value) > _MAX_TEXT or "\x00" in value):
        raise Unprocessable.field(name, f"at most {_MAX_TEXT} characters, no NUL")
    return value


def _after(
    context: Context, kind: str, cursor: str | None, typed: Callable[[list[Any]], list[Any]]
) -> list[Any] | None:
    """The keyset an ``after`` cursor stands for; one not made by us for ``kind`` is refused."""
    if cursor is None:
        return None
    try:
        if len(cursor) > _MAX_CURSOR:
            raise Unprocessable
        return typed(decode_cursor(context.app.settings.signing_key, kind, cursor))
    except Unprocessable:
        raise Unprocessable.field("after", "invalid cursor") from None


def _cursor(context: Context, kind: str, values: list[object]) -> str:
    return encode_cursor(context.app.settings.signing_key, kind, values)


async def products(
    context: Context, *, first: int, after: str | None, q: str | None,
    category_id: str | None, is_active: bool | None,
) -> Connection[Product]:  # fmt: skip
    """Newest first; non-staff see only active products, as on ``GET /products``."""
    limit, q = _page_size(first), _text("q", q)
    if is_active is not None and not context.staff:
        raise Forbidden("Filtering on isActive is for staff.")
    category = parse_uuid(category_id)
    if category_id is not None and category is None:
        return Connection.of([], has_next_page=False)  # ids are opaque: no such category
    kind = f"products:{_PRODUCT_SORT}"
    keys = _after(context, kind, after, partial(queries.decode_keyset, _PRODUCT_SORT))
    filters = queries.ProductFilters(q=q, category_id=category, is_active=is_active)
    items, next_key = await queries.list_products(
        engine=context.app.read_engine, filters=filters, staff=context.staff, limit=limit,
        after=keys, currency=context.app.settings.currency,
    )  # fmt: skip
    pairs = [
        (_cursor(context, kind, queries.keyset_of(doc, _PRODUCT_SORT)), Product.of(doc))
        for doc in items
    ]
    return Connection.of(pairs, has_next_page=next_key is not None)


async def product(context: Context, *, id: str | None, slug: str | None) -> Product | None:
    """One product by id or by slug (a former slug finds the product it moved to);
    null when there is none the caller may see, as REST's 404."""
    if (id is None) == (slug is None):
        raise Unprocessable.field("id", "give exactly one of id and slug")
    app = context.app
    entry: CachedProduct | tuple[str, bool] | None = None
    if id is not None:
        product_id = parse_uuid(id)
        if product_id is not None:
            entry = await queries.product(
                engine=app.read_engine, cache=app.product_cache, product_id=product_id,
                currency=app.settings.currency,
            )  # fmt: skip
    elif slug is not None and len(slug) <= _MAX_TEXT and "\x00" not in slug:
        entry = await queries.product_by_slug(
            engine=app.read_engine, slug=slug, currency=app.settings.currency
        )
        if isinstance(entry, tuple):
            entry = await queries.product_by_slug(
                engine=app.read_engine, slug=entry[0], currency=app.settings.currency
            )
    if not isinstance(entry, CachedProduct) or not (entry.is_active or context.staff):
        return None
    return Product.of(orjson.loads(entry.body))


async def categories(
    context: Context, *, first: int, after: str | None, parent_id: str | None
) -> Connection[Category]:
    """By name, as ``GET /categories``; optionally only the children of ``parentId``."""
    limit = _page_size(first)
    parent = parse_uuid(parent_id)
    if parent_id is not None and parent is None:
        return Connection.of([], has_next_page=False)
    keys = _after(context, "categories", after, partial(keyset, timestamp=False))
    items, next_key = await queries.list_categories(
        engine=context.app.read_engine, limit=limit, after=keys, parent_id=parent
    )
    pairs = [
        (_cursor(context, "categories", queries.category_keyset(doc)), Category.of(doc))
        for doc in items
    ]
    return Connection.of(pairs, has_next_page=next_key is not None)


async def my_orders(context: Context, *, first: int, after: str | None) -> Connection[Order]:
    """The signed-in user's own orders, newest first (staff too see only their own here)."""
    assert context.viewer is not None
    limit = _page_size(first)
    keys = _after(context, "orders", after, partial(keyset, timestamp=True))
    async with context.app.sessionmaker() as session:
        rows, next_key = await orders.list_(
            session=session, viewer_id=context.viewer.id, staff=False, filters=orders.Filters(),
            limit=limit, after=keys,
        )  # fmt: skip
        pairs = [(_cursor(context, "orders", orders.keyset_of(o)), Order.of(o)) for o in rows]
    return Connection.of(pairs, has_next_page=next_key is not None)
