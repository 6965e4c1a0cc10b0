from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db import Base, UTCDateTime, utcnow


class Event(Base):
    """One thing that happened, committed in the same transaction as the change.

    ``id`` is the public, monotonic position in the log: it is assigned while the
    writer holds the outbox lock, and the lock is held until the writer commits,
    so events become visible in id order (see ``backroom.events.outbox``). Ids
    are never reused (SQLite AUTOINCREMENT, a PostgreSQL identity), though a
    rolled-back writer leaves a gap.
    """

    __tablename__ = "event"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(String(40))
    # The ``data`` member of the webhook/SSE body, already in its JSON form.
    data: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
