from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db import Base, UTCDateTime, new_id, utcnow

MAX_PRICE_CENTS = 1_000_000_000


class Category(Base):
    __tablename__ = "category"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("category.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Product(Base):
    """A sellable item. ``stock`` moves only through the ledger (inventory);
    ``version`` grows on every change so caches can tell old from new."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint(f"price_cents >= 0 AND price_cents <= {MAX_PRICE_CENTS}", name="price"),
        CheckConstraint("stock >= 0", name="stock"),
        # Unique among live products only: a deleted product frees its SKU and slug.
        Index("uq_product_sku_live", "sku", unique=True, sqlite_where=text("deleted_at IS NULL"),
              postgresql_where=text("deleted_at IS NULL")),
        Index("uq_product_slug_live", "slug", unique=True, sqlite_where=text("deleted_at IS NULL"),
              postgresql_where=text("deleted_at IS NULL")),
        Index("ix_product_created", "created_at", "id"),
        Index("ix_product_price", "price_cents", "id"),
        Index("ix_product_name", "name", "id"),
        Index("ix_product_category", "category_id", "created_at", "id"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    sku: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("category.id", ondelete="RESTRICT"), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), default=dict
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The import job that last wrote this row: a SKU seen twice in one file is
    # caught by the database, whatever the file's size, and across restarts.
    import_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class ProductSlugRedirect(Base):
    """A slug a product used to have; it points straight at the product, so a
    chain of renames still resolves in one hop."""

    __tablename__ = "product_slug_redirect"

    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
