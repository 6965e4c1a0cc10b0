from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db import Base, UTCDateTime, utcnow


class Event(Base):
    """One thing that happened, committed in the same transaction as the change.

    ``id`` is the public, monotonic position in the log. On PostgreSQL the row is
    inserted with a negative placeholder and gets its id inside COMMIT, under the
    outbox lock (migration 0011); on SQLite at insert, by the only writer. Either
    way events become visible in id order (see ``backroom.events.outbox``). Ids
    are never reused (SQLite AUTOINCREMENT, a PostgreSQL sequence), though a
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
