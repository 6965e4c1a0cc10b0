"""Work on a batch that needs no database, done in the reading thread while the
previous batch is being written: resolve categories, and build every row as a
new product would be written (id, slug, the encoded row and its opening ledger
line). Inside the transaction only the rows whose SKU already exists need more
Python; for a fresh catalog that is none, and the batch goes to the database
as it is (``COPY`` on PostgreSQL, ``executemany`` on SQLite).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uuid_utils

from backroom.catalog.service import derive_slug
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
    """What every row of a batch shares. Values go out as the driver takes them:
    SQLite stores UUIDs as hex and timestamps as text (as SQLAlchemy does),
    asyncpg takes them as they are. The shared ones are converted here, once a
    batch, not once a row."""

    job_id: uuid.UUID
    actor_id: uuid.UUID | None
    categories: dict[str, uuid.UUID]
    now: datetime
    sqlite: bool
    job: Any = field(init=False)
    actor: Any = field(init=False)
    stamp: Any = field(init=False)
    note: str = field(init=False)

    def __post_init__(self) -> None:
        stamp = self.now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else None
        object.__setattr__(self, "job", self.uid(self.job_id))
        object.__setattr__(self, "actor", self.uid(self.actor_id))
        object.__setattr__(self, "stamp", stamp or self.now)
        object.__setattr__(self, "note", f"import {self.job_id}")

    def uid(self, value: Any) -> Any:
        return value.hex if self.sqlite and value is not None else value

    def movement(self, product_id: Any, delta: int, after: int) -> tuple[Any, ...]:
        return (self.uid(_new_id()), self.uid(product_id), delta, _IMPORT, self.note, after,
                self.actor, self.stamp)  # fmt: skip


# uuid_utils' own UUIDv7 (time-ordered, as everywhere in the app), without the
# conversion to the standard library's class that db.new_id pays for: both
# drivers only read its ``bytes`` (asyncpg) or ``hex`` (SQLite).
_new_id = uuid_utils.uuid7
_IMPORT = Reason.IMPORT.value


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
    product_id = _new_id()
    stock = values.get("stock", 0)
    active = values.get("is_active", True)
    product = (
        scope.uid(product_id), sku, derive_slug(values["name"], sku), values["name"],
        values.get("description", ""), values["price_cents"], stock,
        scope.uid(values.get("category_id")), int(active) if scope.sqlite else active, "{}", 1,
        scope.stamp, scope.stamp, scope.job,
    )  # fmt: skip
    movement = scope.movement(product_id, stock, stock) if stock else None
    return Ready(row, sku, values, product, movement, None)
