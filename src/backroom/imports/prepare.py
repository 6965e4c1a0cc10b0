"""Work on a batch that needs no database, done in the reading thread while the
previous batch is being written: resolve categories, and build every row as a
new product would be written (id, slug, the encoded row and its opening ledger
line). Inside the transaction only the rows whose SKU already exists need more
Python; for a fresh catalog that is none, and the batch goes to the database
as it is (``COPY`` on PostgreSQL, ``executemany`` on SQLite).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backroom.catalog.service import derive_slug
from backroom.db import new_id
from backroom.imports.reader import Batch
from backroom.imports.rows import RowError
from backroom.inventory.models import Reason

PRODUCT_COLUMNS = (
    "id", "sku", "slug", "name", "description", "price_cents", "stock", "category_id",
    "is_active", "attributes", "version", "created_at", "updated_at", "import_job_id",
)  # fmt: skip
LEDGER_COLUMNS = (
    "id", "product_id", "delta", "reason", "note", "stock_after", "actor_id", "created_at",
)  # fmt: skip
SLUG = PRODUCT_COLUMNS.index("slug")


@dataclass(frozen=True, slots=True)
class Scope:
    job_id: uuid.UUID
    actor_id: uuid.UUID | None
    categories: dict[str, uuid.UUID]
    now: datetime
    sqlite: bool

    def encode(self, values: tuple[Any, ...], kinds: str) -> tuple[Any, ...]:
        """Values as the driver takes them: SQLite stores UUIDs as hex and
        timestamps as text (as SQLAlchemy does); asyncpg takes them as they are.
        ``kinds`` marks each value: u(uid), t(imestamp), b(ool), other (as is)."""
        if not self.sqlite:
            return values
        return tuple(_SQLITE[k](v) if v is not None and k in _SQLITE else v
                     for v, k in zip(values, kinds, strict=True))  # fmt: skip

    def movement(self, product_id: uuid.UUID, delta: int, after: int) -> tuple[Any, ...]:
        values = (new_id(), product_id, delta, Reason.IMPORT.value,
                  f"import {self.job_id}", after, self.actor_id, self.now)  # fmt: skip
        return self.encode(values, "uu....ut")


_SQLITE: dict[str, Callable[[Any], Any]] = {
    "u": lambda value: value.hex,
    "t": lambda value: value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
    "b": int,
}
_PRODUCT_KINDS = "u......ub..ttu"


@dataclass(slots=True)
class Ready:
    """A valid row, with what it would write if its SKU turns out to be new."""

    row: int
    sku: str
    values: dict[str, Any]
    product: tuple[Any, ...] | None  # None: a new product would lack ``missing``
    movement: tuple[Any, ...] | None
    missing: str | None

    def with_slug(self, slug: str) -> None:
        assert self.product is not None
        self.product = (*self.product[:SLUG], slug, *self.product[SLUG + 1 :])

    @property
    def slug(self) -> str:
        assert self.product is not None
        return str(self.product[SLUG])


def prepare(batch: Batch, scope: Scope) -> list[Ready]:
    """Resolve categories (unknown ones become row errors) and pre-build new rows."""
    ready = []
    for valid in batch.rows:
        values = dict(valid.values)
        if "category_slug" in values:
            slug = values.pop("category_slug")
            if slug is not None and slug not in scope.categories:
                batch.errors.append(RowError(valid.row, "category_slug", "no such category"))
                continue
            values["category_id"] = scope.categories[slug] if slug is not None else None
        ready.append(_ready(valid.row, valid.sku, values, scope))
    return ready


def _ready(row: int, sku: str, values: dict[str, Any], scope: Scope) -> Ready:
    missing = (
        "name" if "name" not in values else "price_cents" if "price_cents" not in values else None
    )
    if missing is not None:
        return Ready(row, sku, values, None, None, missing)
    # Time-ordered ids (UUIDv7, as everywhere in the app): each batch appends to
    # the primary-key index instead of touching pages all over it.
    product_id = new_id()
    stock = values.get("stock", 0)
    product = scope.encode(
        (product_id, sku, derive_slug(values["name"], sku), values["name"],
         values.get("description", ""), values["price_cents"], stock, values.get("category_id"),
         values.get("is_active", True), "{}", 1, scope.now, scope.now, scope.job_id),
        _PRODUCT_KINDS,
    )  # fmt: skip
    movement = scope.movement(product_id, stock, stock) if stock else None
    return Ready(row, sku, values, product, movement, None)
