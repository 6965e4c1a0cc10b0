"""Category writes. A category is a node of a tree (``parent_id``); cycles are refused."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.documents import category_document, dumps
from backroom.catalog.models import Category, Product
from backroom.catalog.schemas import CategoryCreate, CategoryReplace
from backroom.catalog.service import derive_slug, merge_patch
from backroom.db import begin_write, utcnow
from backroom.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from backroom.http import etag_of, parse_json_body

_MAX_DEPTH = 32
_TREE_LOCK = 0x6261636B  # any constant: the advisory lock that guards tree moves


def etag(category: Category) -> str:
    return etag_of(dumps(category_document(_row(category))))


def _row(category: Category) -> dict[str, Any]:
    return {k: getattr(category, k) for k in ("id", "name", "slug", "parent_id", "description")}


async def create(*, session: AsyncSession, data: CategoryCreate) -> Category:
    """Create a category; a duplicate slug is 409. Commits."""
    await begin_write(session)
    now = utcnow()
    slug = data.slug or await _free_slug(session, derive_slug(data.name, "category"))
    category = Category(
        id=uuid.uuid4(), name=data.name, slug=slug,
        description=data.description, created_at=now, updated_at=now,
    )  # fmt: skip
    category.parent_id = await _parent(session, category.id, data.parent_id)
    await _ensure_unique_slug(session, category.slug, None)
    session.add(category)
    await _commit(session)
    return category


async def replace(
    *, session: AsyncSession, category_id: uuid.UUID, data: CategoryReplace, if_match: str | None
) -> Category:
    """Replace a category's fields (``slug`` absent: kept). Commits."""
    await begin_write(session)
    category = await _locked(session, category_id, if_match)
    await _apply(session, category, data)
    await _commit(session)
    return category


async def patch(
    *,
    session: AsyncSession,
    category_id: uuid.UUID,
    changes: dict[str, Any],
    if_match: str | None,
) -> Category:
    """JSON merge patch, validated like a PUT. Commits."""
    await begin_write(session)
    category = await _locked(session, category_id, if_match)
    current = _row(category)
    current["parent_id"] = str(category.parent_id) if category.parent_id else None
    del current["id"]
    data = parse_json_body(CategoryReplace, dumps(merge_patch(current, changes)))
    await _apply(session, category, data)
    await _commit(session)
    return category


async def delete(*, session: AsyncSession, category_id: uuid.UUID, if_match: str | None) -> None:
    """Delete an empty category: one with products or children is 409. Commits."""
    await begin_write(session)
    category = await _locked(session, category_id, if_match)
    has_children = await session.scalar(select(exists().where(Category.parent_id == category.id)))
    has_products = await session.scalar(
        select(exists().where(Product.category_id == category.id, Product.deleted_at.is_(None)))
    )
    if has_children or has_products:
        raise Conflict("The category still has products or subcategories.")
    # Retired products may still point here; they keep their history, not the category.
    await session.execute(
        update(Product).where(Product.category_id == category.id).values(category_id=None)
    )
    await session.delete(category)
    await _commit(session)


async def _apply(session: AsyncSession, category: Category, data: CategoryReplace) -> None:
    slug = data.slug or category.slug
    if slug != category.slug:
        await _ensure_unique_slug(session, slug, category.id)
    if data.parent_id != (str(category.parent_id) if category.parent_id else None):
        await _lock_tree(session)
    category.parent_id = await _parent(session, category.id, data.parent_id)
    category.name, category.slug, category.description = data.name, slug, data.description
    category.updated_at = utcnow()


async def _locked(session: AsyncSession, category_id: uuid.UUID, if_match: str | None) -> Category:
    stmt = (
        select(Category)
        .where(Category.id == category_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    category = (await session.execute(stmt)).scalar_one_or_none()
    if category is None:
        raise NotFound("No such category.")
    if if_match is not None:
        tags = {t.strip() for t in if_match.split(",")}
        if "*" not in tags and etag(category) not in tags:
            raise PreconditionFailed("The category has changed since you read it; fetch it again.")
    return category


async def _lock_tree(session: AsyncSession) -> None:
    """Serialise moves within the tree, so two concurrent moves can't form a cycle
    (SQLite's write lock already serialises every writer)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TREE_LOCK})


async def _free_slug(session: AsyncSession, base: str) -> str:
    taken = set(
        await session.scalars(
            select(Category.slug).where((Category.slug == base) | Category.slug.like(f"{base}-%"))
        )
    )
    n = 2
    slug = base
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


async def _parent(session: AsyncSession, own: uuid.UUID, raw: str | None) -> uuid.UUID | None:
    """Validate a parent: it exists, and walking up from it never reaches ``own``."""
    if raw is None:
        return None
    try:
        parent_id = uuid.UUID(raw)
    except ValueError:
        raise Unprocessable.field("parent_id", "no such category") from None
    cursor: uuid.UUID | None = parent_id
    for _ in range(_MAX_DEPTH + 1):
        if cursor is None:
            return parent_id
        if cursor == own:
            raise Unprocessable.field("parent_id", "would make the category its own ancestor")
        row = (
            await session.execute(select(Category.parent_id).where(Category.id == cursor))
        ).one_or_none()
        if row is None:
            raise Unprocessable.field("parent_id", "no such category")
        cursor = row[0]
    raise Unprocessable.field("parent_id", f"the tree may be at most {_MAX_DEPTH + 1} levels deep")


async def _ensure_unique_slug(session: AsyncSession, slug: str, own: uuid.UUID | None) -> None:
    found = await session.scalar(select(Category.id).where(Category.slug == slug))
    if found is not None and found != own:
        raise Conflict("A category with this slug already exists.", extra={"field": "slug"})


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("A category with this slug already exists.") from None
