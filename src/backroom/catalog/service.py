"""Product writes: create, replace, merge-patch, delete. Each commits once.

Writers take the write lock first (``begin_write``), load the row for update,
check ``If-Match`` against the representation as it is now (so two editors
can't both win), and bump ``version`` so caches can tell old from new.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slugify import slugify
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.documents import dumps, product_document
from backroom.catalog.models import Category, Product, ProductSlugRedirect
from backroom.catalog.schemas import ProductCreate, ProductReplace
from backroom.db import begin_write, utcnow
from backroom.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from backroom.events import outbox
from backroom.events.types import EventType
from backroom.http import etag_of, parse_json_body
from backroom.inventory import service as inventory
from backroom.inventory.models import Reason

_WRITABLE = (
    "sku",
    "slug",
    "name",
    "description",
    "price_cents",
    "category_id",
    "is_active",
    "attributes",
)


_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d)")  # slugify drops thousands separators


def derive_slug(name: str, fallback: str) -> str:
    # python-slugify costs ~40 µs a name (transliteration, entities): too much for a
    # million-row import. Plain ASCII without entities takes this equivalent fast
    # path (a property test checks it gives the same slug); anything else goes
    # through slugify.
    if name.isascii() and "&" not in name:
        fast = _NOT_SLUG.sub("-", _DIGIT_COMMA.sub("", name.lower())).strip("-")
        if len(fast) <= 190:
            return fast or slugify(fallback) or "product"
    return slugify(name, max_length=190, word_boundary=True) or slugify(fallback) or "product"


def as_row(product: Product) -> dict[str, Any]:
    return {column: getattr(product, column) for column in (
        "id", "sku", "slug", "name", "description", "price_cents", "stock", "category_id",
        "is_active", "attributes", "created_at", "updated_at", "version",
    )}  # fmt: skip


def etag(product: Product, currency: str) -> str:
    return etag_of(dumps(product_document(as_row(product), currency)))


async def create(
    *, session: AsyncSession, data: ProductCreate, actor_id: uuid.UUID, currency: str
) -> Product:
    """Create a product (with its opening stock as a ledger movement) and record
    ``product.created``. Commits."""
    await begin_write(session)
    category_id = await _category(session, data.category_id)
    await _ensure_unique_sku(session, data.sku, None)
    slug = data.slug or await _free_slug(session, derive_slug(data.name, data.sku))
    await _ensure_unique_slug(session, slug, None)
    now = utcnow()
    product = Product(
        sku=data.sku, slug=slug, name=data.name, description=data.description,
        price_cents=data.price_cents, stock=0, category_id=category_id,
        is_active=data.is_active, attributes=data.attributes, version=1,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(product)
    await _claim_slug(session, slug)
    await _flush(session)
    if data.stock:
        await inventory.apply(
            session=session, product_id=product.id, delta=data.stock,
            reason=Reason.RESTOCK, note="opening stock", actor_id=actor_id, now=now,
        )  # fmt: skip
        await session.refresh(product)
    _announce(session, EventType.PRODUCT_CREATED, product, currency)
    await _commit(session)
    return product


async def replace(
    *,
    session: AsyncSession,
    product_id: uuid.UUID,
    data: ProductReplace,
    if_match: str | None,
    currency: str,
) -> Product:
    """Replace every writable field (``slug`` absent: kept); records
    ``product.updated``. Commits."""
    await begin_write(session)
    product = await _locked(session, product_id, if_match, currency)
    await _apply(session, product, data)
    _announce(session, EventType.PRODUCT_UPDATED, product, currency)
    await _commit(session)
    return product


async def patch(
    *,
    session: AsyncSession,
    product_id: uuid.UUID,
    changes: dict[str, Any],
    if_match: str | None,
    currency: str,
) -> Product:
    """Apply a JSON merge patch to the writable fields, validated like a PUT;
    records ``product.updated``. Commits."""
    await begin_write(session)
    product = await _locked(session, product_id, if_match, currency)
    document = {key: getattr(product, key) for key in _WRITABLE}
    document["category_id"] = str(product.category_id) if product.category_id else None
    merged = merge_patch(document, changes)
    data = parse_json_body(ProductReplace, dumps(merged))
    await _apply(session, product, data)
    _announce(session, EventType.PRODUCT_UPDATED, product, currency)
    await _commit(session)
    return product


async def delete(
    *, session: AsyncSession, product_id: uuid.UUID, if_match: str | None, currency: str
) -> int:
    """Retire the product: it disappears from the API, past orders keep their
    snapshot and the ledger keeps its history. Records ``product.deleted`` (with the
    last representation). Returns the final version. Commits."""
    await begin_write(session)
    product = await _locked(session, product_id, if_match, currency)
    product.deleted_at = utcnow()
    product.is_active = False
    product.version += 1
    await session.execute(
        sql_delete(ProductSlugRedirect).where(ProductSlugRedirect.product_id == product.id)
    )
    version = product.version
    _announce(session, EventType.PRODUCT_DELETED, product, currency)
    await _commit(session)
    return version


def _announce(session: AsyncSession, type_: EventType, product: Product, currency: str) -> None:
    outbox.record(session, type_, product_document(as_row(product), currency))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


async def _apply(session: AsyncSession, product: Product, data: ProductReplace) -> None:
    category_id = await _category(session, data.category_id)
    if data.sku != product.sku:
        await _ensure_unique_sku(session, data.sku, product.id)
    slug = data.slug or product.slug
    if slug != product.slug:
        await _ensure_unique_slug(session, slug, product.id)
        await _claim_slug(session, slug)
        session.add(ProductSlugRedirect(slug=product.slug, product_id=product.id))
    product.sku, product.slug, product.name = data.sku, slug, data.name
    product.description, product.price_cents = data.description, data.price_cents
    product.category_id, product.is_active = category_id, data.is_active
    product.attributes = dict(data.attributes)
    product.version += 1
    product.updated_at = utcnow()
    await _flush(session)


async def _locked(
    session: AsyncSession, product_id: uuid.UUID, if_match: str | None, currency: str
) -> Product:
    stmt = (
        select(Product)
        .where(Product.id == product_id, Product.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    product = (await session.execute(stmt)).scalar_one_or_none()
    if product is None:
        raise NotFound("No such product.")
    if if_match is not None and not _matches(if_match, etag(product, currency)):
        raise PreconditionFailed("The product has changed since you read it; fetch it again.")
    return product


def _matches(header: str, current: str) -> bool:
    tags = {t.strip() for t in header.split(",")}
    return "*" in tags or current in tags


async def _category(session: AsyncSession, raw: str | None) -> uuid.UUID | None:
    if raw is None:
        return None
    try:
        category_id = uuid.UUID(raw)
    except ValueError:
        raise Unprocessable.field("category_id", "no such category") from None
    if await session.get(Category, category_id) is None:
        raise Unprocessable.field("category_id", "no such category")
    return category_id


async def _ensure_unique_sku(session: AsyncSession, sku: str, own: uuid.UUID | None) -> None:
    stmt = select(Product.id).where(Product.sku == sku, Product.deleted_at.is_(None))
    found = await session.scalar(stmt)
    if found is not None and found != own:
        raise Conflict("A product with this SKU already exists.", extra={"field": "sku"})


async def _ensure_unique_slug(session: AsyncSession, slug: str, own: uuid.UUID | None) -> None:
    stmt = select(Product.id).where(Product.slug == slug, Product.deleted_at.is_(None))
    found = await session.scalar(stmt)
    if found is not None and found != own:
        raise Conflict("A product with this slug already exists.", extra={"field": "slug"})


async def _free_slug(session: AsyncSession, base: str) -> str:
    """A derived slug that is not taken: ``base``, ``base-2``, ``base-3``…"""
    taken = set(
        await session.scalars(
            select(Product.slug).where(
                Product.deleted_at.is_(None),
                (Product.slug == base) | Product.slug.like(f"{base}-%"),
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def _claim_slug(session: AsyncSession, slug: str) -> None:
    """A live product now owns ``slug``: an old redirect from it would shadow nothing."""
    await session.execute(sql_delete(ProductSlugRedirect).where(ProductSlugRedirect.slug == slug))


async def _flush(session: AsyncSession) -> None:
    await _finish(session, session.flush)


async def _commit(session: AsyncSession) -> None:
    await _finish(session, session.commit)


async def _finish(session: AsyncSession, step: Callable[[], Awaitable[None]]) -> None:
    """Flush or commit; a unique index losing a race (PostgreSQL) is a 409, not a 500."""
    try:
        await step()
    except IntegrityError:
        await session.rollback()
        raise Conflict("A product with this SKU or slug already exists.") from None
