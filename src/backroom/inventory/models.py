from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db import Base, UTCDateTime, new_id, utcnow


class Reason(enum.StrEnum):
    RESTOCK = "restock"
    CORRECTION = "correction"
    DAMAGE = "damage"
    RETURN = "return"
    # Written by the system, never accepted from a client:
    ORDER = "order"
    CANCELLATION = "cancellation"
    IMPORT = "import"


MANUAL_REASONS = (Reason.RESTOCK, Reason.CORRECTION, Reason.DAMAGE, Reason.RETURN)


class StockMovement(Base):
    """One line of the stock ledger: the product's stock is the sum of its deltas."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta"),
        CheckConstraint("stock_after >= 0", name="stock_after"),
        Index("ix_stock_movement_product", "product_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("product.id", ondelete="RESTRICT")
    )
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    stock_after: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
