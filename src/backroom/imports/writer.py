"""Applying one batch of import rows: plan in Python, then set-based writes.

The batch's existing products are read (and, on PostgreSQL, row-locked in SKU
order, so two imports of the same SKUs can't deadlock) in one query; each row
then becomes an insert, an update (only if something really changes, so a
re-import of an export changes nothing), or nothing. Stock changes become
ledger movements computed from the locked stock. A SKU this job already wrote
(``import_job_id``) is a duplicate within the file. The caller commits the
writes together with the job's counters and checkpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slugify import slugify
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.models import Product, ProductSlugRedirect
from backroom.imports import bulk
from backroom.imports.prepare import Ready, Scope
from backroom.imports.rows import RowError

_FIELDS = ("name", "description", "price_cents", "stock", "category_id", "is_active")


@dataclass(slots=True)
class Plan:
    inserts: list[Ready] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)
    movements: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def tombstones(self) -> dict[uuid.UUID, int]:
        """Products whose cached representation is now stale, with their new version."""
        return {row["id"]: row["version"] for row in self.updates}


async def apply_batch(session: AsyncSession, scope: Scope, rows: list[Ready]) -> Plan:
    """Write one batch inside the caller's transaction; returns what it did."""
    plan = Plan()
    rows = _first_of_each_sku(rows, plan)
    existing = await _existing(session, [row.sku for row in rows])
    for row in rows:
        _plan_row(row, existing.get(row.sku), scope, plan)
    await _assign_slugs(session, plan)
    products = [row.product for row in plan.inserts if row.product is not None]
    await bulk.write(session, products, plan.updates, plan.movements)
    await bulk.mark(session, plan.unchanged, scope.job_id)
    return plan


def _first_of_each_sku(rows: list[Ready], plan: Plan) -> list[Ready]:
    first: dict[str, int] = {}
    kept = []
    for row in rows:
        if row.sku in first:
            message = f"duplicate SKU: already in row {first[row.sku]}"
            plan.errors.append(RowError(row.row, "sku", message))
            continue
        first[row.sku] = row.row
        kept.append(row)
    return kept


async def _existing(session: AsyncSession, skus: list[str]) -> dict[str, dict[str, Any]]:
    if not skus:
        return {}
    fields = [getattr(Product, name) for name in _FIELDS]
    columns = (Product.id, Product.sku, Product.version, Product.import_job_id, *fields)
    stmt = (
        select(*columns)
        .where(bulk.among(session, Product.sku, sorted(skus)), Product.deleted_at.is_(None))
        .order_by(Product.sku)
        .with_for_update()
    )
    return {row.sku: dict(row._mapping) for row in await session.execute(stmt)}


def _plan_row(row: Ready, old: dict[str, Any] | None, scope: Scope, plan: Plan) -> None:
    if old is None:
        if row.missing is not None:
            plan.errors.append(RowError(row.row, row.missing, "required for a new product"))
            return
        plan.inserts.append(row)
        if row.movement is not None:
            plan.movements.append(row.movement)
    elif old["import_job_id"] == scope.job_id:
        plan.errors.append(RowError(row.row, "sku", "duplicate SKU: already earlier in the file"))
    else:
        _plan_update(old, row.values, scope, plan)


def _plan_update(old: dict[str, Any], values: dict[str, Any], scope: Scope, plan: Plan) -> None:
    merged = {name: values.get(name, old[name]) for name in _FIELDS}
    if all(merged[name] == old[name] for name in _FIELDS):
        plan.unchanged.append(old["id"])
        return
    plan.updates.append({
        **merged, "id": old["id"], "version": old["version"] + 1, "updated_at": scope.now,
        "import_job_id": scope.job_id,
    })  # fmt: skip
    delta = merged["stock"] - old["stock"]
    if delta:
        plan.movements.append(scope.movement(old["id"], delta, merged["stock"]))


async def _assign_slugs(session: AsyncSession, plan: Plan) -> None:
    """New products keep the slug derived from their name, as the API derives it;
    on a clash the SKU is appended. A slug that only an old redirect holds is
    taken over, as the API does."""
    if not plan.inserts:
        return
    taken = await _live_slugs(session, {row.slug for row in plan.inserts})
    seen: set[str] = set()
    clashing = []
    for row in plan.inserts:
        if row.slug in taken or row.slug in seen:
            clashing.append(row)
        seen.add(row.slug)
    if clashing:  # rare: names that slug alike
        fallback = {row.row: _with_sku(row.slug, row.sku) for row in clashing}
        taken |= await _live_slugs(session, set(fallback.values())) | seen
        for row in clashing:
            slug = fallback[row.row]
            row.with_slug(slug if slug not in taken else f"{slug[:180]}-{uuid.uuid4().hex[:8]}")
            taken.add(row.slug)
    slugs = [row.slug for row in plan.inserts]
    among = bulk.among(session, ProductSlugRedirect.slug, slugs)
    await session.execute(delete(ProductSlugRedirect).where(among))


def _with_sku(slug: str, sku: str) -> str:
    return f"{slug[:120]}-{slugify(sku) or 'x'}"[:200]


async def _live_slugs(session: AsyncSession, slugs: Iterable[str]) -> set[str]:
    slugs = list(slugs)
    if not slugs:
        return set()
    among = bulk.among(session, Product.slug, slugs)
    stmt = select(Product.slug).where(among, Product.deleted_at.is_(None))
    return set(await session.scalars(stmt))
