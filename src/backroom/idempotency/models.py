from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` and what the first request with it produced."""

    __tablename__ = "idempotency_key"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: in flight
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    location: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The fencing token: 1 for the first claim, one more for each takeover of an
    # expired lease. Only the holder of the current attempt may answer or release.
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # While in flight, when a retry may take the key over; None once answered (and
    # on rows claimed before leases existed: their lease runs from created_at).
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
